"""The Workers KV REST API as this client needs it: Cloudflare's documented limits, its error
envelope and codes, which answers are worth retrying (429 with Retry-After, 5xx, a malformed
body), how a key becomes one URL path segment, how bulk bodies are batched, and the redaction
every server or httpx text goes through before a message or a log record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from planner.kv.base import KVError

MAX_BULK_PAIRS = 10_000  # Cloudflare: up to 10,000 pairs per bulk write / delete
MAX_BULK_BYTES = 50 * 1024 * 1024  # Cloudflare: 100 MB per request; stay well under it
MAX_BULK_GET = 100  # Cloudflare: up to 100 keys per bulk get
LIST_LIMIT = 1000
KEY_NOT_FOUND = 10009


class CloudflareError(KVError):
    """A Cloudflare API call failed; carries Cloudflare's error code when there is one."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Transient(Exception):
    """A failure worth retrying (429, 5xx, connection error, malformed body)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``.

    Applied to every string that comes from the server or from httpx before it reaches a message or
    a log record: a server may echo the request (e.g. its Authorization header) in an error.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def encode_key(key: str) -> str:
    """A key as ONE path segment: everything but unreserved characters is percent-encoded."""
    return quote(key, safe="")


def raise_transient(resp: httpx.Response) -> None:
    status = resp.status_code
    if status == 429:
        raise Transient("HTTP 429 rate limited", retry_after_seconds(resp.headers.get("retry-after")))
    if status >= 500:
        raise Transient(f"HTTP {status}")
    if status == 200 and resp.headers.get("content-type", "").startswith("application/json"):
        try:
            body = resp.json()
        except ValueError:
            raise Transient("malformed JSON body") from None
        if not isinstance(body, dict):
            raise Transient("malformed JSON body")


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def first_error(errors: Any) -> tuple[int | None, str]:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        return (code if isinstance(code, int) else None), str(errors[0].get("message", ""))
    return None, ""


def error_code(resp: httpx.Response) -> int | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return first_error(body.get("errors"))[0] if isinstance(body, dict) else None


def endpoint_name(path: str) -> str:
    return path.split("/", 2)[1] if path.count("/") >= 1 else path


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def size_chunks(bodies: list[dict[str, Any]], max_bytes: int) -> Iterator[list[dict[str, Any]]]:
    """Split by count (<= 10,000) and by estimated JSON size (<= max_bytes)."""
    batch: list[dict[str, Any]] = []
    size = 2
    for b in bodies:
        est = len(b["value"]) + len(b["key"].encode("utf-8")) * 6 + 1024 + 64
        if batch and (len(batch) >= MAX_BULK_PAIRS or size + est > max_bytes):
            yield batch
            batch, size = [], 2
        batch.append(b)
        size += est
    if batch:
        yield batch
