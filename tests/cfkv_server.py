"""A Cloudflare-compatible Workers KV REST server for tests: real HTTP on 127.0.0.1.

Implements the endpoints planner.kv.cloudflare uses, with Cloudflare's envelopes, error codes,
cursor pagination and limits, counts every request, and injects faults by configuration.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from planner.kv.cloudflare import CloudflareKV
from tests.loopback import LoopbackServer

TOKEN = "test-token-SECRET-3f9a1c"  # a recognisable secret: tests assert it never leaks
ACCOUNT = "acc123"

_PREFIX = "/client/v4/accounts/"


@dataclass
class Fault:
    """Inject ``kind`` into the next ``times`` requests whose endpoint is ``endpoint`` (or any if None).

    kinds: "429" (with retry_after), "500", "reset" (connection reset, no response), "slow"
    (sleep ``delay`` then answer normally), "unsuccessful" (bulk write/delete: report the first
    ``count`` keys as unsuccessful and do not store them), "malformed" (200 with a broken body),
    "400" (a permanent client error with Cloudflare code 10026), "echo_auth" (400 whose error
    message echoes the request's Authorization header, as a careless server might).
    """

    kind: str
    endpoint: str | None = None  # "bulk", "bulk/delete", "bulk/get", "keys", "values", "metadata"
    times: int = 1
    retry_after: str | None = "0"
    delay: float = 0.0
    count: int = 1


@dataclass
class State:
    data: dict[str, dict[str, tuple[bytes, dict[str, Any] | None]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)  # "PUT bulk" -> n
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # raw request paths, as sent
    bulk_sizes: list[int] = field(default_factory=list)  # pairs per bulk write request
    lock: threading.Lock = field(default_factory=threading.Lock)
    page_size: int = 1000  # server-side cap on a list page


def envelope(
    result: Any = None, *, success: bool = True, errors: list[dict[str, Any]] | None = None, **extra: Any
) -> bytes:
    body = {"success": success, "errors": errors or [], "messages": [], "result": result, **extra}
    return json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK
        # would add ~40 ms to every keep-alive response and the benchmark would time that.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: int, message: str) -> None:
        self._send(status, envelope(None, success=False, errors=[{"code": code, "message": message}]))

    def _handle(self) -> None:
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        parts = url.path.split("/")  # "", client, v4, accounts, ACC, storage, kv, namespaces, NS, rest...
        if not url.path.startswith(_PREFIX) or len(parts) < 10 or parts[5:8] != ["storage", "kv", "namespaces"]:
            return self._error(404, 7000, "No route for that URI")
        account, ns, rest = unquote(parts[4]), unquote(parts[8]), parts[9:]
        endpoint = "/".join(rest[:2]) if rest[:2] == ["bulk", "delete"] or rest[:2] == ["bulk", "get"] else rest[0]
        with st.lock:
            st.requests[f"{self.command} {endpoint}"] += 1
            st.headers_seen.append(dict(self.headers))
            st.paths.append(self.path)
            fault = next((f for f in st.faults if f.times > 0 and f.endpoint in (None, endpoint)), None)
            if fault is not None:
                fault.times -= 1
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._error(403, 10000, "Authentication error")
        if account != ACCOUNT:
            return self._error(403, 10000, "Authentication error")
        if fault is not None and fault.kind != "unsuccessful":
            if fault.kind == "429":
                hdr = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return self._send(
                    429,
                    envelope(None, success=False, errors=[{"code": 10013, "message": "Too many requests"}]),
                    headers=hdr,
                )
            if fault.kind == "500":
                return self._error(500, 10001, "Internal service error")
            if fault.kind == "400":
                return self._error(400, 10026, "Could not parse request body")
            if fault.kind == "echo_auth":
                return self._error(400, 10000, f"Authentication error: got {self.headers.get('Authorization')}")
            if fault.kind == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return None
            if fault.kind == "malformed":
                return self._send(200, b'{"success": true, "result": [tru', headers={})
            if fault.kind == "slow":
                time.sleep(fault.delay)
        with st.lock:
            store = st.data.setdefault(ns, {})
            return self._route(endpoint, rest, url.query, raw, store, fault)

    def _route(
        self,
        endpoint: str,
        rest: list[str],
        query: str,
        raw: bytes,
        store: dict[str, tuple[bytes, dict[str, Any] | None]],
        fault: Fault | None,
    ) -> None:
        method = self.command
        if endpoint == "bulk" and method == "PUT":
            try:
                items = json.loads(raw)
                assert isinstance(items, list)
            except (ValueError, AssertionError):
                return self._error(400, 10026, "Could not parse request body")
            self.server.state.bulk_sizes.append(len(items))
            if len(items) > 10_000:
                return self._error(400, 10040, "bulk write limited to 10000 pairs")
            if len(raw) > 100_000_000:
                return self._error(413, 10046, "request too large")
            skip = {str(i["key"]) for i in items[: fault.count]} if fault and fault.kind == "unsuccessful" else set()
            for it in items:
                key = it.get("key", "")
                if not key or key in (".", "..") or len(key.encode()) > 512:
                    return self._error(400, 10033, f"invalid key {key!r}")
                value = base64.b64decode(it["value"]) if it.get("base64") else str(it["value"]).encode()
                if len(value) > 25 * 1024 * 1024:
                    return self._error(413, 10046, "value too large")
                meta = it.get("metadata")
                if meta is not None and len(json.dumps(meta)) > 1024:
                    return self._error(413, 10047, "metadata too large")
            for it in items:
                if it["key"] in skip:
                    continue
                value = base64.b64decode(it["value"]) if it.get("base64") else str(it["value"]).encode()
                store[it["key"]] = (value, it.get("metadata"))
            return self._send(
                200, envelope({"successful_key_count": len(items) - len(skip), "unsuccessful_keys": sorted(skip)})
            )
        if endpoint == "bulk/delete" and method == "POST":
            keys = json.loads(raw)
            if len(keys) > 10_000:
                return self._error(400, 10040, "bulk delete limited to 10000 keys")
            skip = set(keys[: fault.count]) if fault and fault.kind == "unsuccessful" else set()
            for k in keys:
                if k not in skip:
                    store.pop(k, None)
            return self._send(
                200, envelope({"successful_key_count": len(keys) - len(skip), "unsuccessful_keys": sorted(skip)})
            )
        if endpoint == "bulk/get" and method == "POST":
            body = json.loads(raw)
            keys = body.get("keys", [])
            if len(keys) > 100:
                return self._error(400, 10155, "bulk get limited to 100 keys")
            values: dict[str, Any] = {}
            for k in keys:
                if k not in store:
                    values[k] = None
                    continue
                value, meta = store[k]
                text = value.decode("utf-8", "replace")
                # As Cloudflare: "expiration" only for keys that expire (these never do); "" for an empty value.
                values[k] = {"value": text, "metadata": meta} if body.get("withMetadata") else text
            return self._send(200, envelope({"values": values}))
        if endpoint == "keys" and method == "GET":
            q = parse_qs(query)
            prefix = q.get("prefix", [""])[0]
            limit = min(int(q.get("limit", ["1000"])[0]), self.server.state.page_size)
            if not 10 <= int(q.get("limit", ["1000"])[0]) <= 1000:
                return self._error(400, 10025, "limit must be between 10 and 1000")
            cursor = q.get("cursor", [""])[0]
            start = int(base64.b64decode(cursor)) if cursor else 0
            names = sorted(k for k in store if k.startswith(prefix))
            page = names[start : start + limit]
            nxt = base64.b64encode(str(start + limit).encode()).decode() if start + limit < len(names) else ""
            result = [{"name": k, **({"metadata": store[k][1]} if store[k][1] is not None else {})} for k in page]
            return self._send(200, envelope(result, result_info={"count": len(page), "cursor": nxt}))
        if endpoint in ("values", "metadata") and method == "GET" and len(rest) == 2:
            key = unquote(rest[1])
            if key not in store:
                return self._error(404, 10009, "get: 'key not found'")
            value, meta = store[key]
            if endpoint == "values":
                return self._send(200, value, ctype="application/octet-stream")
            return self._send(200, envelope(meta))
        return self._error(405, 10000, f"method {method} not allowed for {endpoint}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State

    def handle_error(self, request: Any, client_address: Any) -> None:  # resets are on purpose
        pass


class CFKVServer(LoopbackServer):
    """``with CFKVServer() as s: s.url`` -> ``http://127.0.0.1:PORT/client/v4``."""

    path = "/client/v4"
    state: State

    def __init__(self) -> None:
        super().__init__(_Handler, State(), _Server)

    def fault(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def reset_counts(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.faults.clear()
            self.state.paths.clear()
            self.state.bulk_sizes.clear()
            self.state.headers_seen.clear()

    def count(self, key: str) -> int:
        """``count("PUT bulk")``; ``count("*")`` = every request."""
        with self.state.lock:
            return sum(self.state.requests.values()) if key == "*" else self.state.requests[key]


def cf_env(server: CFKVServer) -> dict[str, str]:
    return {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "CLOUDFLARE_API_BASE_URL": server.url}


def cf_store(server: CFKVServer, namespace_id: str, **kw: Any) -> CloudflareKV:
    """A CloudflareKV against the loopback server, with fast retries for tests."""
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    return CloudflareKV(namespace_id, environ=cf_env(server), **kw)
