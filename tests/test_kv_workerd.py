"""The Cloudflare client against BOTH the loopback test double and workerd's real KV (REST shim).

Same tests, same assertions: whatever the double answers, workerd must answer too, so the double
cannot drift from the real service unnoticed. Wire shapes are also checked against the official
``cloudflare`` SDK's models where they are cheap to state (missing key -> null, empty cursor ends).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from planner.kv.base import KVEntry
from planner.kv.cloudflare import CloudflareKV
from tests.cfkv_server import ACCOUNT, TOKEN, CFKVServer
from tests.workerd_server import WorkerdKV

N = 10_001  # one more than a bulk request and ten list pages hold


class Backend:
    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.made = 0

    def store(self, label: str) -> CloudflareKV:
        self.made += 1
        env = {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "CLOUDFLARE_API_BASE_URL": self.url}
        return CloudflareKV(f"ns-{label}-{self.made}", environ=env, backoff=0.01, max_backoff=0.05)

    def raw(self, kv: CloudflareKV, method: str, path: str, **kw: Any) -> httpx.Response:
        url = f"{self.url}/accounts/{ACCOUNT}/storage/kv/namespaces/{kv.namespace_id}{path}"
        return httpx.request(method, url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, **kw)


@pytest.fixture(scope="module", params=["double", "workerd"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "double":
        with CFKVServer() as server:
            yield Backend("double", server.url)
    else:
        with WorkerdKV() as w:  # not installed: WorkerdMissing fails the test loudly
            yield Backend("workerd", w.url)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def many(n: int) -> list[KVEntry]:
    return [KVEntry(f"k/{i:05d}", f"v{i}".encode(), {"sha256": sha(f"v{i}".encode())}) for i in range(n)]


def test_empty_value_exists_and_is_empty_bytes(backend: Backend) -> None:
    with backend.store("empty") as kv:
        kv.put_many([KVEntry("e/hashed", b"", {"sha256": sha(b"")}), KVEntry("e/bare", b""), KVEntry("e/x", b"x")])
        got = kv.get_many(["e/hashed", "e/bare", "e/x", "e/missing"])
        assert {k: e.value for k, e in got.items()} == {"e/hashed": b"", "e/bare": b"", "e/x": b"x"}
        assert got["e/hashed"].metadata == {"sha256": sha(b"")}
        # On the wire: a missing key is null, an empty value is an entry whose value is "".
        body = backend.raw(kv, "POST", "/bulk/get", json={"keys": ["e/hashed", "e/missing"], "withMetadata": True})
        values = body.json()["result"]["values"]
        assert values["e/missing"] is None
        assert values["e/hashed"] == {"value": "", "metadata": {"sha256": sha(b"")}}  # no "expiration": none set
        one = backend.raw(kv, "GET", "/values/e%2Fbare")
        assert (one.status_code, one.content) == (200, b"")
        gone = backend.raw(kv, "GET", "/values/e%2Fmissing")
        assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == 10009


@pytest.mark.slow  # ~12 s on workerd (10,001 binding writes)
def test_list_10001_keys_stops_at_the_last_page(backend: Backend) -> None:
    with backend.store("list") as kv:
        es = many(N)
        kv.put_many(es)
        before = kv.requests
        keys = kv.list_keys("k/")
        pages = kv.requests - before
        assert len(keys) == N and keys == sorted(e.key for e in es)  # exactly what was written, once each
        assert pages == 11  # ten full pages and one of one key: no request after the empty cursor
        # The last page ends the listing with an empty cursor; a full page carries one.
        first = backend.raw(kv, "GET", "/keys", params={"prefix": "k/", "limit": "1000"}).json()
        assert len(first["result"]) == 1000 and first["result_info"]["cursor"]
        tail = backend.raw(kv, "GET", "/keys", params={"prefix": "k/10", "limit": "1000"}).json()
        assert [r["name"] for r in tail["result"]] == ["k/10000"] and tail["result_info"]["cursor"] == ""


def test_list_ends_on_an_exactly_full_last_page(backend: Backend) -> None:
    with backend.store("full") as kv:
        kv.put_many(many(2000))
        before = kv.requests
        assert len(kv.list_keys("k/")) == 2000
        assert kv.requests - before == 2


@pytest.mark.slow  # ~15 s on workerd
def test_delete_many_removes_every_key(backend: Backend) -> None:
    with backend.store("del") as kv:
        es = many(N)
        kv.put_many(es)
        kv.delete_many([e.key for e in es] + ["k/never-written"])
        assert kv.list_keys("") == []
        assert kv.get_many([es[0].key, es[-1].key]) == {}


def test_delete_many_of_a_small_set(backend: Backend) -> None:
    with backend.store("del-small") as kv:
        es = many(30)
        kv.put_many(es)
        kv.delete_many([e.key for e in es[:20]])
        assert kv.list_keys("") == [e.key for e in es[20:]]


def test_bulk_delete_limit_is_10000_keys(backend: Backend) -> None:
    with backend.store("dlimit") as kv:
        kv.put_many(many(20))
        keys = [f"k/{i:05d}" for i in range(10_001)]
        over = backend.raw(kv, "POST", "/bulk/delete", json=keys)
        assert over.status_code == 400 and over.json()["success"] is False
        assert len(kv.list_keys("k/")) == 20  # a refused request deletes nothing
        at = backend.raw(kv, "POST", "/bulk/delete", json=keys[:10_000])
        assert at.status_code == 200 and at.json()["result"]["unsuccessful_keys"] == []
        assert kv.list_keys("k/") == []
