"""apply_plan with the Cloudflare KV store (real HTTP to the loopback Cloudflare KV server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planner.kv.base import KVEntry
from planner.kv.cloudflare import CloudflareKV
from planner.txn.engine import apply_plan
from planner.txn.errors import ApplyFailedError
from tests.cfkv_server import ACCOUNT, TOKEN, CFKVServer, Fault, cf_store
from tests.txn_fixture import EXT, SUMM, TxnFixture, build
from tests.workerd_server import WorkerdKV

PLAN = 'plan "rel" {\n  promote prompts/extraction v1.1.0 to staging\n  promote agents/analyzer v2.0.0 to staging\n}\n'
INITIAL = {
    "prompts/extraction@staging": b"Extract v1\n",
    "prompts/summary@staging": b"Summarize v1\n",
    "agents/analyzer@staging": b"model: a\n",
}


class Target:
    def __init__(self, store: Any) -> None:
        self.store = store


def _setup(tmp_path: Path, server: CFKVServer) -> tuple[TxnFixture, dict[str, Target]]:
    fx = build(tmp_path)  # the plan's expected old values come from the same initial contents
    store = cf_store(server, "ns-staging")
    store.put_many([KVEntry(k, v) for k, v in INITIAL.items()])
    return fx, {"staging": Target(store)}


def _contents(store: Any) -> dict[str, bytes]:
    return {k: e.value for k, e in store.get_many(store.list_keys("")).items()}


def test_apply_against_cloudflare(tmp_path: Path) -> None:
    with CFKVServer() as server:
        fx, targets = _setup(tmp_path, server)
        plan = fx.plan(PLAN)
        server.reset_counts()
        res = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=targets)
        kv = _contents(targets["staging"].store)
        targets["staging"].store.close()
        assert res.pushes == 1 and res.kv_requests == 5  # re-read, prepare, prepare read-back, project, read-back
        assert server.count("PUT bulk") == 2
    assert (
        kv["prompts/extraction@staging"] == b"Extract v1.1\n" and kv["prompts/extraction@v1.1.0"] == b"Extract v1.1\n"
    )
    assert kv["agents/analyzer@staging"] == b"model: b\n"
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_cloudflare_failure_after_commit_is_compensated(tmp_path: Path) -> None:
    with CFKVServer() as server:
        fx, targets = _setup(tmp_path, server)
        plan = fx.plan(PLAN)
        refs_before = fx.repo.remote_refs()

        def progress(msg: str) -> None:
            if msg.startswith("project:"):  # after the commit: the env-key bulk write fails for good
                server.fault(Fault("400", endpoint="bulk", times=1))

        with pytest.raises(ApplyFailedError) as info:
            apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=targets, progress=progress)
        after = _contents(targets["staging"].store)
        targets["staging"].store.close()
        assert after == INITIAL  # version keys deleted, env keys restored
    assert "undone" in info.value.message
    assert fx.repo.remote_refs() == refs_before  # tags and ledger back


@pytest.fixture(scope="module", params=["double", "workerd"])
def cf_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "double":
        with CFKVServer() as server:
            yield server.url
    else:
        with WorkerdKV() as w:  # not installed: WorkerdMissing fails the test loudly
            yield w.url


def test_apply_component_whose_file_is_empty(tmp_path: Path, cf_url: str) -> None:
    fx = build(tmp_path)
    fx.repo.write("prompts/summary.md", "")
    empty = fx.repo.commit("summary emptied")
    fx.repo.tag_version(SUMM, "v1.1.0", empty)
    fx.repo.push()
    env = {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "CLOUDFLARE_API_BASE_URL": cf_url}
    with CloudflareKV(f"ns-empty-{tmp_path.name}", environ=env, backoff=0.01, max_backoff=0.05) as store:
        store.put_many([KVEntry(k, v) for k, v in INITIAL.items()])
        plan = fx.plan('plan "rel" {\n  promote prompts/summary v1.1.0 to staging\n}\n')
        res = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets={"staging": Target(store)})
        kv = _contents(store)
    assert res.pushes == 1
    assert kv["prompts/summary@staging"] == b"" and kv["prompts/summary@v1.1.0"] == b""
    assert kv["prompts/extraction@staging"] == b"Extract v1\n"  # untouched
    assert fx.peeled(f"refs/tags/{SUMM}/staging") == empty
