"""Verify steps: HTTP GET with a timeout and bounded retries (httpx)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from planner.errors import PlannerError
from planner.plan.changes import VerifyCheck

ATTEMPTS = 3  # without "within": bounded retries
TIMEOUT = 10.0


class VerifyError(PlannerError):
    """A verify check did not get the expected status."""


def run_check(check: VerifyCheck, log: Callable[[str], None] = lambda _m: None) -> None:
    deadline = time.monotonic() + check.within_seconds if check.within_seconds else None
    attempt = 0
    last = ""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        while True:
            attempt += 1
            try:
                status = client.get(check.url).status_code
                if status == check.expect:
                    log(f"verify {check.env}: {check.url} -> {status}")
                    return
                last = f"got {status}, expected {check.expect}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if deadline is not None:
                if time.monotonic() + 1.0 > deadline:
                    break
                time.sleep(1.0)
            elif attempt >= ATTEMPTS:
                break
            else:
                time.sleep(0.2 * attempt)
    raise VerifyError(f"verify {check.env} failed: GET {check.url}: {last} (after {attempt} attempt(s))")
