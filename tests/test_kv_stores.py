"""One behavioural suite, run against every store: SQLite and Cloudflare over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.kv.base import KVEntry, KVError, KVStore
from planner.kv.cloudflare import CloudflareKV
from planner.kv.sqlite import SqliteKV
from tests.cfkv_server import CFKVServer, cf_store

ODD_KEYS = [
    "prompts/ex tråction@v1.0.0 ü/x",  # "/", "@", spaces and non-ASCII in one key
    "prompts/extraction@v1.0.0",
    "a b/c@d",
    "ключ/ü@staging",
    "components/x/y/z",
    "日本語 key/@@",
]


@pytest.fixture(scope="module")
def cf_server() -> Iterator[CFKVServer]:
    with CFKVServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "cloudflare"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    kind = request.param
    opened: list[CloudflareKV] = []

    def make(namespace: str = "ns") -> KVStore:
        ns = f"{namespace}-{tmp_path.name}"
        if kind == "sqlite":
            return SqliteKV(tmp_path / "kv.sqlite", ns)
        server: CFKVServer = request.getfixturevalue("cf_server")
        opened.append(cf_store(server, ns))
        return opened[-1]

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store: object) -> KVStore:
    return make_store()  # type: ignore[operator, no-any-return]


def test_put_get_roundtrip_with_metadata(store: KVStore) -> None:
    meta = {"component": "prompts/extraction", "version": "v1.0.0", "commit": "a" * 40, "sha256": "b" * 64}
    store.put_many([KVEntry("prompts/extraction@v1.0.0", b"hello\x00\xff", meta), KVEntry("k2", b"")])
    got = store.get_many(["prompts/extraction@v1.0.0", "k2", "missing"])
    assert set(got) == {"prompts/extraction@v1.0.0", "k2"}
    assert got["prompts/extraction@v1.0.0"].value == b"hello\x00\xff"
    assert dict(got["prompts/extraction@v1.0.0"].metadata) == meta
    assert got["k2"].value == b""
    assert dict(got["k2"].metadata) == {}


def test_odd_keys_roundtrip(store: KVStore) -> None:
    store.put_many([KVEntry(k, k.encode("utf-8") * 2, {"k": k}) for k in ODD_KEYS])
    got = store.get_many(ODD_KEYS)
    assert {k: e.value for k, e in got.items()} == {k: k.encode("utf-8") * 2 for k in ODD_KEYS}
    assert all(dict(got[k].metadata) == {"k": k} for k in ODD_KEYS)
    assert sorted(store.list_keys()) == sorted(ODD_KEYS)
    store.delete_many(ODD_KEYS[:2])
    assert sorted(store.list_keys()) == sorted(ODD_KEYS[2:])


def test_overwrite_and_delete(store: KVStore) -> None:
    store.put_many([KVEntry("a", b"1"), KVEntry("b", b"2")])
    store.put_many([KVEntry("a", b"3", {"v": 2})])
    got = store.get_many(["a", "b"])
    assert got["a"].value == b"3" and dict(got["a"].metadata) == {"v": 2}
    assert got["b"].value == b"2"
    store.delete_many(["a", "never-there"])
    assert store.get_many(["a", "b"]).keys() == {"b"}
    store.delete_many([])
    store.put_many([])
    assert store.get_many([]) == {}


def test_list_by_prefix(store: KVStore) -> None:
    keys = [f"prompts/p{i:03d}@v1.0.0" for i in range(30)] + ["agents/a@staging", "prompts", "prompts%/x", "prompts_x"]
    store.put_many([KVEntry(k, b"x") for k in keys])
    assert store.list_keys("prompts/") == sorted(k for k in keys if k.startswith("prompts/"))
    assert store.list_keys("agents/") == ["agents/a@staging"]
    assert store.list_keys("prompts%") == ["prompts%/x"]
    assert store.list_keys("zzz") == []
    assert store.list_keys() == sorted(keys)


def test_namespaces_are_apart(make_store: object) -> None:
    a = make_store("alpha")  # type: ignore[operator]
    b = make_store("beta")  # type: ignore[operator]
    a.put_many([KVEntry("same", b"A")])
    b.put_many([KVEntry("same", b"B")])
    assert a.get_many(["same"])["same"].value == b"A"
    assert b.get_many(["same"])["same"].value == b"B"
    a.delete_many(["same"])
    assert a.list_keys() == [] and b.list_keys() == ["same"]


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        (KVEntry("", b"x"), "empty"),
        (KVEntry(".", b"x"), "'.'"),
        (KVEntry("..", b"x"), "'..'"),
        (KVEntry("k" * 513, b"x", {"component": "prompts/big"}), "512"),
        (KVEntry("big", b"x" * (25 * 1024 * 1024 + 1), {"component": "prompts/huge"}), "25 MiB"),
        (KVEntry("meta", b"x", {"component": "prompts/meta", "pad": "m" * 1100}), "1024"),
    ],
)
def test_limits_rejected_before_writing(store: KVStore, entry: KVEntry, needle: str) -> None:
    with pytest.raises(KVError) as err:
        store.put_many([KVEntry("fine", b"ok"), entry])
    assert needle in err.value.message
    comp = entry.metadata.get("component")
    if comp:
        assert comp in err.value.message
    assert store.list_keys() == []  # nothing half-written


def test_name_is_descriptive(store: KVStore) -> None:
    assert store.name.split(":")[0] in ("sqlite", "cloudflare")
    assert "#" in store.name


def test_bad_unicode_is_a_kv_error(store: KVStore) -> None:
    bad = "prompts/\ud800@x"
    for op in (
        lambda: store.get_many([bad]),
        lambda: store.put_many([KVEntry(bad, b"")]),
        lambda: store.list_keys(bad),
    ):
        with pytest.raises(KVError, match="lone surrogate"):
            op()


_keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda k: k not in (".", "..") and len(k.encode()) <= 512
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(_keys, min_size=1, max_size=5, unique=True), value=st.binary(max_size=64))
def test_any_valid_key_roundtrips(store: KVStore, keys: list[str], value: bytes) -> None:
    store.put_many([KVEntry(k, value + k.encode(), {"k": k}) for k in keys])
    got = store.get_many(keys)
    assert {k: e.value for k, e in got.items()} == {k: value + k.encode() for k in keys}
    assert all(dict(got[k].metadata) == {"k": k} for k in keys)
    assert set(keys) <= set(store.list_keys())
    store.delete_many(keys)
    assert store.get_many(keys) == {}
