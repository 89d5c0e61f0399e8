"""Cloudflare Workers KV over its REST API (httpx, sync).

Every HTTP detail stays in this module and ``planner.kv.cloudflare_api`` (limits, error envelope,
retry hints, batching); callers see only KVStore and KVError. Credentials come
from ``CLOUDFLARE_API_TOKEN`` / ``CLOUDFLARE_ACCOUNT_ID`` in the environment and are never put in
a message, a log record or a repr (the token lives only in the client's default headers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from planner.kv.base import KVEntry, KVError
from planner.kv.cloudflare_api import (
    KEY_NOT_FOUND,
    LIST_LIMIT,
    MAX_BULK_BYTES,
    MAX_BULK_GET,
    MAX_BULK_PAIRS,
    CloudflareError,
    Transient,
    chunks,
    encode_key,
    endpoint_name,
    error_code,
    first_error,
    raise_transient,
    redact,
    size_chunks,
)
from planner.kv.limits import check_entry, check_key, check_text, metadata_json

__all__ = ["DEFAULT_BASE_URL", "CloudflareError", "CloudflareKV", "encode_key", "redact"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
BASE_URL_ENV = "CLOUDFLARE_API_BASE_URL"
TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
ACCOUNT_ENV = "CLOUDFLARE_ACCOUNT_ID"


class CloudflareKV:
    """One Workers KV namespace. ``label`` names it in messages (e.g. the env or binding)."""

    def __init__(
        self,
        namespace_id: str,
        *,
        label: str | None = None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        timeout: float = 30.0,
        concurrency: int = 8,
        max_bulk_bytes: int = MAX_BULK_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "")
        account = env.get(ACCOUNT_ENV, "")
        if not token or not account:
            missing = [n for n, v in ((TOKEN_ENV, token), (ACCOUNT_ENV, account)) if not v]
            raise KVError(f"Cloudflare KV {label or namespace_id}: set {' and '.join(missing)} in the environment")
        if not (token.isascii() and token.isprintable()):
            # httpx would raise UnicodeEncodeError on the first request; never echo the token itself.
            raise KVError(f"{TOKEN_ENV} contains characters that cannot be sent in an HTTP header")
        if not namespace_id or "/" in namespace_id:
            raise KVError(f"Cloudflare KV {label or '?'}: invalid namespace id {namespace_id!r}")
        self.namespace_id = namespace_id
        self.name = f"cloudflare:{namespace_id}#{label or namespace_id}"
        self.base_url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self._prefix = f"/accounts/{quote(account, safe='')}/storage/kv/namespaces/{quote(namespace_id, safe='')}"
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._concurrency = max(1, concurrency)
        self._sleep = sleep
        self._max_bulk_bytes = max_bulk_bytes
        self._secrets = (token, f"Bearer {token}")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=timeout,
        )
        self._count_lock = threading.Lock()
        self.requests = 0  # HTTP requests sent (including retries), for progress and tests

    def __repr__(self) -> str:
        return f"CloudflareKV({self.name!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def _clean(self, text: str) -> str:
        """Server or httpx text made safe for a message or a log record (the token redacted)."""
        return redact(text, self._secrets)

    def __enter__(self) -> CloudflareKV:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- KVStore -------------------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> dict[str, KVEntry]:
        wanted = list(dict.fromkeys(keys))
        for k in wanted:
            check_key(k)
        out: dict[str, KVEntry] = {}
        slow: list[str] = []
        for chunk in chunks(wanted, MAX_BULK_GET):
            got, unverified = self._bulk_get(chunk)
            out.update(got)
            slow.extend(unverified)
        if slow:
            # Bulk get returns text; bytes that are not UTF-8 (or lack a hash to check) are read raw.
            with ThreadPoolExecutor(max_workers=min(self._concurrency, len(slow))) as pool:
                for key, entry in zip(slow, pool.map(self._get_one, slow), strict=True):
                    if entry is not None:
                        out[key] = entry
        return {k: out[k] for k in wanted if k in out}

    def put_many(self, entries: Iterable[KVEntry]) -> None:
        items = list({e.key: e for e in entries}.values())  # last write of a key wins, as in KV
        for e in items:
            check_entry(e)  # every limit is checked before anything is sent
        if not items:
            return
        bodies = [
            {
                "key": e.key,
                "value": base64.b64encode(e.value).decode("ascii"),
                "base64": True,
                "metadata": json.loads(metadata_json(e)),
            }
            for e in items
        ]
        done = 0
        for batch in size_chunks(bodies, self._max_bulk_bytes):
            try:
                self._bulk("PUT", "/bulk", batch, [b["key"] for b in batch], "write")
            except CloudflareError as exc:
                if done:  # say exactly what did land, so nobody has to guess
                    exc.message = f"{exc.message}; {done} of {len(bodies)} keys were written by earlier requests"
                    exc.args = (exc.message,)
                raise
            done += len(batch)

    def delete_many(self, keys: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(keys))
        for k in wanted:
            check_key(k)
        for chunk in chunks(wanted, MAX_BULK_PAIRS):
            self._bulk("POST", "/bulk/delete", list(chunk), list(chunk), "delete")

    def list_keys(self, prefix: str = "") -> list[str]:
        check_text(prefix, f"prefix {prefix!r}")
        keys: list[str] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            params = {"limit": str(LIST_LIMIT)}
            if prefix:
                params["prefix"] = prefix
            if cursor:
                params["cursor"] = cursor
            body = self._envelope(self._request("GET", "/keys", params=params), "list keys")
            result = body.get("result")
            if not isinstance(result, list):
                raise CloudflareError(f"{self.name}: list keys: malformed response (no result list)")
            keys.extend(str(item["name"]) for item in result if isinstance(item, dict) and "name" in item)
            info = body.get("result_info") or {}
            cursor = str(info.get("cursor") or "") if isinstance(info, dict) else ""
            if not cursor:
                return sorted(keys)
            if cursor in seen:
                raise CloudflareError(f"{self.name}: list keys: the API repeated cursor {self._clean(repr(cursor))}")
            seen.add(cursor)

    # ---- endpoints ------------------------------------------------------------------------

    def _bulk_get(self, keys: Sequence[str]) -> tuple[dict[str, KVEntry], list[str]]:
        resp = self._request("POST", "/bulk/get", json_body={"keys": list(keys), "type": "text", "withMetadata": True})
        if 400 <= resp.status_code < 500 and resp.status_code not in (401, 403):
            # e.g. a value that is not text: read this chunk raw, key by key.
            log.debug("%s: bulk get answered %s, reading %d keys one by one", self.name, resp.status_code, len(keys))
            return {}, list(keys)
        body = self._envelope(resp, "bulk get")
        values = (body.get("result") or {}).get("values") if isinstance(body.get("result"), dict) else None
        if not isinstance(values, dict):
            raise CloudflareError(f"{self.name}: bulk get: malformed response (no result.values)")
        out: dict[str, KVEntry] = {}
        unverified: list[str] = []
        for key in keys:
            item = values.get(key)
            if item is None:
                continue
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                unverified.append(key)
                continue
            meta = item.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            data = item["value"].encode("utf-8")
            if meta.get("sha256") == hashlib.sha256(data).hexdigest():
                out[key] = KVEntry(key, data, meta)
            else:
                unverified.append(key)
        return out, unverified

    def _get_one(self, key: str) -> KVEntry | None:
        path = encode_key(key)
        resp = self._request("GET", f"/values/{path}")
        if resp.status_code == 404 and error_code(resp) == KEY_NOT_FOUND:
            return None
        if resp.status_code != 200:
            self._envelope(resp, f"read {key!r}")
        value = resp.content
        meta_resp = self._request("GET", f"/metadata/{path}")
        if meta_resp.status_code == 404 and error_code(meta_resp) == KEY_NOT_FOUND:
            return None  # deleted between the two reads
        body = self._envelope(meta_resp, f"read metadata of {key!r}")
        meta = body.get("result")
        return KVEntry(key, value, meta if isinstance(meta, dict) else {})

    def _bulk(self, method: str, path: str, body: list[Any], keys: list[str], what: str) -> None:
        """Send one bulk request; re-send only the keys Cloudflare reports as unsuccessful."""
        pending = dict(zip(keys, body, strict=True))
        for attempt in range(1, self._max_attempts + 1):
            resp = self._request(method, path, json_body=list(pending.values()))
            result = self._envelope(resp, f"bulk {what}").get("result")
            failed = result.get("unsuccessful_keys") if isinstance(result, dict) else None
            if not failed:
                return
            if not isinstance(failed, list):
                raise CloudflareError(f"{self.name}: bulk {what}: malformed unsuccessful_keys in response")
            pending = {k: pending[k] for k in map(str, failed) if k in pending}
            if not pending:
                return
            log.warning("%s: bulk %s: %d keys unsuccessful, retrying them", self.name, what, len(pending))
            if attempt < self._max_attempts:
                self._sleep(self._delay(attempt))
        sample = self._clean(", ".join(repr(k) for k in list(pending)[:5]))
        raise CloudflareError(
            f"{self.name}: bulk {what} failed for {len(pending)} of {len(keys)} keys after "
            f"{self._max_attempts} attempts (e.g. {sample}); the other keys were written"
            if what == "write"
            else f"{self.name}: bulk {what} failed for {len(pending)} keys after {self._max_attempts} attempts "
            f"(e.g. {sample})"
        )

    # ---- transport, retries, envelopes ----------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        """One logical request with retries. Returns the final response for a non-retryable status."""
        url = self._prefix + path
        content = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"} if content is not None else None
        last = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                with self._count_lock:
                    self.requests += 1
                resp = self._client.request(method, url, params=params, content=content, headers=headers)
                raise_transient(resp)
                return resp
            except httpx.TransportError as exc:
                last = f"connection error ({type(exc).__name__})"  # never str(exc): keep output predictable
                wait = self._delay(attempt)
            except httpx.HTTPError as exc:  # not transient (e.g. an undecodable response): report, never retry
                raise CloudflareError(
                    f"{self.name}: {method} {endpoint_name(path)} failed: {type(exc).__name__}"
                ) from None
            except Transient as exc:
                last = self._clean(str(exc))
                wait = self._delay(attempt) if exc.retry_after is None else min(exc.retry_after, self._max_retry_after)
            if attempt < self._max_attempts:
                log.info("%s: %s %s: %s; retry %d in %.2fs", self.name, method, path.split("/")[1], last, attempt, wait)
                self._sleep(wait)
        raise CloudflareError(
            f"{self.name}: {method} {endpoint_name(path)} failed after {self._max_attempts} attempts: {last}"
        )

    def _delay(self, attempt: int) -> float:
        base: float = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)

    def _envelope(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        """Check HTTP status and ``success``; turn Cloudflare's errors into CloudflareError."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CloudflareError(
                f"{self.name}: {what}: HTTP {resp.status_code} with a malformed body", status=resp.status_code
            )
        errors = body.get("errors") or []
        if resp.status_code >= 400 or body.get("success") is not True:
            code, message = first_error(errors)
            message = self._clean(message)
            detail = f"Cloudflare error {code}: {message}" if code is not None else (message or "no error details")
            raise CloudflareError(
                f"{self.name}: {what}: HTTP {resp.status_code}, {detail}", status=resp.status_code, code=code
            )
        return body
