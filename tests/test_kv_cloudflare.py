"""Cloudflare-specific behaviour over real loopback HTTP: endpoints, batching, every fault."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from planner.kv.base import KVEntry, KVError
from planner.kv.cloudflare import CloudflareError, CloudflareKV, encode_key
from tests.cfkv_server import ACCOUNT, TOKEN, CFKVServer, Fault, cf_env, cf_store


@pytest.fixture(scope="module")
def server() -> Iterator[CFKVServer]:
    with CFKVServer() as s:
        yield s


@pytest.fixture
def kv(server: CFKVServer, request: pytest.FixtureRequest) -> Iterator[CloudflareKV]:
    server.reset_counts()
    store = cf_store(server, f"ns-{request.node.name}"[:32].replace("[", "-").replace("]", ""))
    yield store
    store.close()
    server.reset_counts()


def entries(n: int, prefix: str = "prompts/p") -> list[KVEntry]:
    out = []
    for i in range(n):
        v = f"content {i}".encode()
        out.append(KVEntry(f"{prefix}{i:05d}@v1.0.0", v, {"sha256": hashlib.sha256(v).hexdigest()}))
    return out


def stored(server: CFKVServer, kv: CloudflareKV) -> dict[str, bytes]:
    return {k: v for k, (v, _) in server.state.data.get(kv.namespace_id, {}).items()}


def test_key_is_one_percent_encoded_segment(server: CFKVServer, kv: CloudflareKV) -> None:
    assert encode_key("prompts/ex@v1 ü") == "prompts%2Fex%40v1%20%C3%BC"
    key = "prompts/ex tr@v1.0.0/ü"
    kv.put_many([KVEntry(key, b"\xff\xfe binary", {"component": "prompts/ex"})])
    server.reset_counts()
    got = kv.get_many([key])
    assert got[key].value == b"\xff\xfe binary"  # not UTF-8: read raw, not via bulk get
    assert any(p.endswith("/values/prompts%2Fex%20tr%40v1.0.0%2F%C3%BC") for p in server.state.paths)
    assert server.count("GET values") == 1 and server.count("GET metadata") == 1


def test_bulk_get_batches_by_100(server: CFKVServer, kv: CloudflareKV) -> None:
    es = entries(250)
    kv.put_many(es)
    server.reset_counts()
    got = kv.get_many([e.key for e in es] + ["missing/key"])
    assert {k: e.value for k, e in got.items()} == {e.key: e.value for e in es}
    assert server.count("POST bulk/get") == 3
    assert server.count("GET values") == 0  # hashes matched: no per-key reads


def test_list_follows_cursor(server: CFKVServer, kv: CloudflareKV) -> None:
    kv.put_many(entries(35))
    server.state.page_size = 10
    try:
        server.reset_counts()
        keys = kv.list_keys("prompts/")
    finally:
        server.state.page_size = 1000
    assert keys == sorted(e.key for e in entries(35))
    assert server.count("GET keys") == 4


def test_chunked_by_bytes(server: CFKVServer) -> None:
    server.reset_counts()
    with cf_store(server, "ns-bytes", max_bulk_bytes=64 * 1024) as kv:
        kv.put_many([KVEntry(f"k{i}", b"x" * 20_000) for i in range(10)])
        assert server.count("PUT bulk") >= 3
        assert max(server.state.bulk_sizes) <= 3
        assert len(kv.list_keys()) == 10


@pytest.mark.slow
def test_20000_keys_take_two_bulk_writes(server: CFKVServer, kv: CloudflareKV) -> None:
    kv.put_many(entries(20_000))
    assert server.count("PUT bulk") == 2
    assert server.state.bulk_sizes == [10_000, 10_000]
    assert len(stored(server, kv)) == 20_000


@pytest.mark.parametrize(
    "fault",
    [
        Fault("429", "bulk", times=2, retry_after="0"),
        Fault("500", "bulk", times=2),
        Fault("reset", "bulk", times=2),
        Fault("malformed", "bulk", times=2),
    ],
    ids=lambda f: f.kind,
)
def test_write_succeeds_after_transient_faults(server: CFKVServer, kv: CloudflareKV, fault: Fault) -> None:
    server.fault(fault)
    es = entries(5)
    kv.put_many(es)
    assert server.count("PUT bulk") == 3
    assert stored(server, kv) == {e.key: e.value for e in es}


def test_429_honours_retry_after(server: CFKVServer, kv: CloudflareKV) -> None:
    server.fault(Fault("429", "bulk", times=1, retry_after="1"))
    start = time.monotonic()
    kv.put_many(entries(2))
    assert time.monotonic() - start >= 0.95
    assert server.count("PUT bulk") == 2


def test_slow_response_times_out_and_retries(server: CFKVServer) -> None:
    server.reset_counts()
    server.fault(Fault("slow", "keys", times=1, delay=1.0))
    with cf_store(server, "ns-slow", timeout=0.3) as kv:
        kv.put_many([KVEntry("a", b"1")])
        assert kv.list_keys() == ["a"]
    assert server.count("GET keys") == 2


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        (Fault("429", "bulk", times=99, retry_after="0"), "HTTP 429"),
        (Fault("500", "bulk", times=99), "HTTP 500"),
        (Fault("reset", "bulk", times=99), "connection error"),
        (Fault("malformed", "bulk", times=99), "malformed"),
    ],
    ids=lambda f: getattr(f, "kind", "x"),
)
def test_persistent_faults_fail_clearly(server: CFKVServer, kv: CloudflareKV, fault: Fault, needle: str) -> None:
    server.fault(fault)
    with pytest.raises(CloudflareError) as err:
        kv.put_many(entries(3))
    assert needle in err.value.message
    assert "failed after 5 attempts" in err.value.message
    assert kv.name in err.value.message
    assert server.count("PUT bulk") == 5
    assert stored(server, kv) == {}


def test_client_error_not_retried_and_reports_cloudflare_code(server: CFKVServer, kv: CloudflareKV) -> None:
    server.fault(Fault("400", "bulk", times=1))
    with pytest.raises(CloudflareError) as err:
        kv.put_many(entries(3))
    assert server.count("PUT bulk") == 1
    assert err.value.code == 10026 and err.value.status == 400
    assert "Cloudflare error 10026: Could not parse request body" in err.value.message


def test_unsuccessful_keys_retried_and_only_those(server: CFKVServer, kv: CloudflareKV) -> None:
    server.fault(Fault("unsuccessful", "bulk", times=1, count=3))
    es = entries(10)
    kv.put_many(es)
    assert server.state.bulk_sizes == [10, 3]
    assert stored(server, kv) == {e.key: e.value for e in es}


def test_unsuccessful_keys_persisting_are_reported(server: CFKVServer, kv: CloudflareKV) -> None:
    server.fault(Fault("unsuccessful", "bulk", times=99, count=2))
    es = entries(10)
    with pytest.raises(CloudflareError) as err:
        kv.put_many(es)
    msg = err.value.message
    assert "failed for 2 of 10 keys" in msg
    assert repr(es[0].key) in msg and repr(es[1].key) in msg
    assert set(stored(server, kv)) == {e.key for e in es[2:]}  # exactly what the message says


def test_delete_unsuccessful_retried(server: CFKVServer, kv: CloudflareKV) -> None:
    kv.put_many(entries(4))
    server.fault(Fault("unsuccessful", "bulk/delete", times=1, count=2))
    kv.delete_many([e.key for e in entries(4)])
    assert kv.list_keys() == []
    assert server.count("POST bulk/delete") == 2


def test_read_faults_retry_and_missing_is_absent(server: CFKVServer, kv: CloudflareKV) -> None:
    kv.put_many([KVEntry("bin", b"\x80\x81", {})])
    server.fault(Fault("500", "bulk/get"), Fault("reset", "values"), Fault("429", "metadata", retry_after="0"))
    got = kv.get_many(["bin", "nope"])
    assert got == {"bin": KVEntry("bin", b"\x80\x81", {})}


def test_read_failure_raises_not_partial(server: CFKVServer, kv: CloudflareKV) -> None:
    kv.put_many(entries(3))
    server.fault(Fault("500", "bulk/get", times=99))
    with pytest.raises(CloudflareError, match="failed after 5 attempts"):
        kv.get_many([e.key for e in entries(3)])


def test_limits_checked_before_sending(server: CFKVServer, kv: CloudflareKV) -> None:
    with pytest.raises(KVError, match=r"component prompts/big.*25 MiB"):
        kv.put_many([KVEntry("k", b"x" * (25 * 1024 * 1024 + 1), {"component": "prompts/big"})])
    with pytest.raises(KVError, match="512"):
        kv.get_many(["k" * 600])
    assert server.count("*") == 0


def test_missing_credentials_named(server: CFKVServer) -> None:
    with pytest.raises(KVError, match="CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"):
        CloudflareKV("ns", environ={})
    with pytest.raises(KVError, match="set CLOUDFLARE_ACCOUNT_ID in"):
        CloudflareKV("ns", environ={"CLOUDFLARE_API_TOKEN": TOKEN})


def test_base_url_from_env_and_transport_injectable(server: CFKVServer) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200, json={"success": True, "errors": [], "messages": [], "result": [], "result_info": {"cursor": ""}}
        )

    env = {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}
    with CloudflareKV("nsid", environ=env, transport=httpx.MockTransport(handler)) as kv:
        assert kv.base_url == "https://api.cloudflare.com/client/v4"
        assert kv.list_keys("a/") == []
    assert seen[0].startswith("https://api.cloudflare.com/client/v4/accounts/acc123/storage/kv/namespaces/nsid/keys?")
    with cf_store(server, "x") as kv2:
        assert kv2.base_url == server.url


def test_token_never_leaks(server: CFKVServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.reset_counts()
    texts: list[str] = []
    with cf_store(server, "ns-secret", max_attempts=2) as kv:
        texts += [repr(kv), str(kv.__dict__.get("name")), repr(vars(kv).get("base_url"))]
        server.fault(Fault("500", times=5), Fault("reset", times=1))
        for op in (lambda: kv.put_many(entries(2)), lambda: kv.list_keys(), lambda: kv.get_many(["a"])):
            try:
                op()
            except KVError as exc:
                texts += [str(exc), repr(exc), exc.message, repr(exc.__cause__), repr(exc.__context__)]
    # a wrong token: the server answers 403 (never retried); the message must not echo the token
    bad = dict(cf_env(server), CLOUDFLARE_API_TOKEN=TOKEN + "-wrong")
    with CloudflareKV("ns-secret", environ=bad, backoff=0.01) as kv3:
        with pytest.raises(CloudflareError) as err:
            kv3.list_keys()
        texts += [str(err.value), repr(err.value), repr(kv3)]
        assert "Authentication error" in err.value.message and err.value.code == 10000
    texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    assert len(texts) > 10
    for t in texts:
        assert TOKEN not in t
    assert server.state.headers_seen[0]["Authorization"] == f"Bearer {TOKEN}"  # it was really sent


def test_failure_in_second_chunk_says_what_landed(server: CFKVServer) -> None:
    server.reset_counts()
    with cf_store(server, "ns-chunks", max_bulk_bytes=64 * 1024) as kv:
        es = [KVEntry(f"k{i}", b"x" * 20_000) for i in range(3)]  # base64: 2 pairs, then 1, per request
        # the first request passes (a zero-delay "slow" fault only consumes a turn), the second gets a 400
        server.fault(Fault("slow", "bulk", times=1, delay=0), Fault("400", "bulk", times=1))
        with pytest.raises(CloudflareError) as err:
            kv.put_many(es)
        assert "2 of 3 keys were written by earlier requests" in err.value.message
        assert server.count("PUT bulk") == 2
        assert kv.list_keys() == ["k0", "k1"]


def test_bulk_get_refused_falls_back_to_raw_reads(server: CFKVServer, kv: CloudflareKV) -> None:
    es = entries(3)
    kv.put_many(es)
    server.reset_counts()
    server.fault(Fault("400", "bulk/get"))  # e.g. an endpoint or value type the API will not bulk-read
    got = kv.get_many([e.key for e in es] + ["gone"])
    assert {k: v.value for k, v in got.items()} == {e.key: e.value for e in es}
    assert dict(got[es[0].key].metadata) == dict(es[0].metadata)
    assert server.count("POST bulk/get") == 1 and server.count("GET values") == 4


def test_server_echoing_the_token_is_redacted(server: CFKVServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.reset_counts()
    with cf_store(server, "ns-echo") as kv:
        for endpoint, op in (("keys", kv.list_keys), ("bulk", lambda: kv.put_many(entries(1)))):
            server.fault(Fault("echo_auth", endpoint=endpoint))
            with pytest.raises(CloudflareError) as err:
                op()
            assert "Authentication error: got ***" in err.value.message and err.value.code == 10000
            for text in (str(err.value), repr(err.value), err.value.message):
                assert TOKEN not in text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    server.reset_counts()


def test_redact_replaces_every_secret() -> None:
    from planner.kv.cloudflare import redact

    assert redact("a TOK b Bearer TOK", ["TOK", ""]) == "a *** b Bearer ***"
    assert redact("nothing here", ["TOK"]) == "nothing here"


@pytest.mark.parametrize("token", ["SEKRETé", "SEK\nRET"])
def test_token_unsendable_in_a_header_is_a_clear_error(token: str) -> None:
    with pytest.raises(KVError) as err:
        CloudflareKV("ns", environ={"CLOUDFLARE_API_TOKEN": token, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT})
    assert "CLOUDFLARE_API_TOKEN contains characters that cannot be sent in an HTTP header" in err.value.message
    assert "SEK" not in err.value.message
