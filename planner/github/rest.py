"""GitHub REST over httpx: the token from the environment (never printed), the base URL from
``GITHUB_API_URL``, pagination by ``Link``, and bounded retries on 5xx and rate limits."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from planner.errors import PlannerError

API_VERSION = "2022-11-28"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(PlannerError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Identity:
    login: str
    id: int | None  # None: known by login only (the Actions bot, which GET /user does not answer)


def _rate_limited(resp: httpx.Response) -> bool:
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    if "retry-after" in resp.headers or resp.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in resp.text.lower()


def retry_delay(resp: httpx.Response, attempt: int, now: float) -> float:
    """Seconds to wait before retrying ``resp``: Retry-After, else x-ratelimit-reset, else backoff."""
    after = resp.headers.get("retry-after")
    if after is not None and after.strip().isdigit():
        return float(after.strip())
    reset = resp.headers.get("x-ratelimit-reset")
    if resp.headers.get("x-ratelimit-remaining") == "0" and reset is not None and reset.strip().isdigit():
        return max(0.0, float(reset.strip()) - now)
    return float(min(2**attempt, 30))


class GitHub:
    """One client per command run. ``max_wait`` bounds each wait and ``attempts`` the tries, so a
    rate-limited job fails in bounded time with the reason instead of hanging until its timeout."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.github.com",
        *,
        attempts: int = 5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "release-planner",
            },
            timeout=30.0,
            transport=transport,
        )
        self.attempts, self.max_wait, self._sleep = attempts, max_wait, sleep

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, url: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        last = ""
        for attempt in range(self.attempts):
            try:
                resp = self._client.request(method, url, json=json, params=params)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}"
                self._sleep(min(float(2**attempt), self.max_wait))
                continue
            if resp.status_code >= 500 or _rate_limited(resp):
                last = f"HTTP {resp.status_code}"
                wait = retry_delay(resp, attempt, time.time())
                if wait > self.max_wait:
                    raise GitHubError(
                        f"GitHub {method} {_path(url)}: rate limited for {wait:.0f} s more (over the {self.max_wait:.0f} s bound)",
                        resp.status_code,
                    )
                if attempt + 1 < self.attempts:
                    self._sleep(wait)
                continue
            if resp.status_code >= 400:
                raise GitHubError(
                    f"GitHub {method} {_path(url)}: HTTP {resp.status_code}: {_message(resp)}", resp.status_code
                )
            return resp
        raise GitHubError(f"GitHub {method} {_path(url)}: gave up after {self.attempts} attempts ({last})")

    def paginate(self, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        next_url: str | None = url
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while next_url is not None:
            resp = self.request("GET", next_url, params=query)
            query = None  # the next link carries the query (params={} would erase it)
            yield from resp.json()
            m = _NEXT.search(resp.headers.get("link", ""))
            next_url = m.group(1) if m else None

    # ---- the calls the commands make ------------------------------------------------------

    def identity(self, fallback_login: str) -> Identity:
        """Who this token writes as: GET /user for a user or app-user token; an installation token
        (the workflow's GITHUB_TOKEN) is refused there (403), and writes as ``fallback_login``."""
        try:
            user = self.request("GET", "/user").json()
        except GitHubError as exc:
            if exc.status in (401, 403, 404):
                return Identity(fallback_login, None)
            raise
        return Identity(str(user["login"]), int(user["id"]))

    def issue_comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return list(self.paginate(f"/repos/{owner}/{repo}/issues/{number}/comments"))

    def create_comment(self, owner: str, repo: str, number: int, body: str) -> dict[str, Any]:
        out: dict[str, Any] = self.request(
            "POST", f"/repos/{owner}/{repo}/issues/{number}/comments", json={"body": body}
        ).json()
        return out

    def update_comment(self, owner: str, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        out: dict[str, Any] = self.request(
            "PATCH", f"/repos/{owner}/{repo}/issues/comments/{comment_id}", json={"body": body}
        ).json()
        return out

    def pull(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        out: dict[str, Any] = self.request("GET", f"/repos/{owner}/{repo}/pulls/{number}").json()
        return out

    def pulls_of_commit(self, owner: str, repo: str, sha: str) -> list[dict[str, Any]]:
        return list(self.paginate(f"/repos/{owner}/{repo}/commits/{sha}/pulls"))


def _path(url: str) -> str:
    return httpx.URL(url).path


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.reason_phrase
    return str(data.get("message", resp.reason_phrase)) if isinstance(data, dict) else resp.reason_phrase
