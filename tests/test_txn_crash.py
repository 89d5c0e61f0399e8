"""Crash injection: the apply subprocess SIGKILLs itself at every journal point
(PLANNER_CRASH_AT), then `planner recover` runs; the remote tags, the ledger and the store must
then be all-old or all-new, read back from the remote and the SQLite file."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from planner.blobs import read_blobs_by_id
from planner.gitio import Repo
from planner.model import LEDGER_REF
from planner.plan.changes import ComputedPlan
from planner.txn.journal import CRASH_ENV, EXTRA_CRASH_POINTS, POINTS
from tests.gitrepo import git, git_daemon
from tests.http_check_server import check_server
from tests.txn_fixture import ENVS, TxnFixture, build, write_plan_json


def gated(base: str, second: str) -> str:
    return f"""plan "gated" {{
  create prompts/extraction v1.2.0 at main
  promote prompts/extraction v1.1.0 to staging
  promote agents/analyzer v2.0.0 to staging
  checked: verify staging get "{base}/ok" expect 200
  promote prompts/extraction from staging to production after checked
  verify production get "{base}/{second}" expect 200
}}
"""


def state(fx: TxnFixture) -> dict[str, Any]:
    """Tags by peeled commit, the ledger's length, every KV key's value."""
    refs = [r for r in fx.repo.remote_refs() if r.startswith("refs/tags/")]
    peeled = git(fx.repo.remote, "rev-parse", *[f"{r}^{{commit}}" for r in refs]).split()
    ledger = fx.repo.remote_refs().get(LEDGER_REF)
    count = int(git(fx.repo.remote, "rev-list", "--count", LEDGER_REF)) if ledger else 0
    return {"tags": dict(zip(refs, peeled, strict=True)), "ledger": count, "kv": {e: fx.kv(e) for e in ENVS}}


def expected_new(fx: TxnFixture, old: dict[str, Any], plan: ComputedPlan, phases: int) -> dict[str, Any]:
    new = {
        "tags": dict(old["tags"]),
        "ledger": old["ledger"] + phases,
        "kv": {e: dict(v) for e, v in old["kv"].items()},
    }
    for t in plan.tags:
        new["tags"][t.ref] = t.new_commit
    blobs = read_blobs_by_id(Repo(fx.work), [k.blob for k in plan.kv])
    for k in plan.kv:
        new["kv"][k.namespace][k.key] = blobs[k.blob]
    return new


def journal_copies(fx: TxnFixture) -> list[str]:
    return [r for r in fx.repo.remote_refs() if r.startswith("refs/planner/journal/")]


def killed_apply(fx: TxnFixture, base: str, point: str, ok: bool) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Save the gated plan, then run `apply --plan` SIGKILLed at ``point``: (plan.json, state before,
    state the plan leads to)."""
    plan = fx.plan(gated(base, "ok" if ok else "bad"))
    path = write_plan_json(fx, plan)
    old = state(fx)
    new = expected_new(fx, old, plan, phases=2)
    crashed = fx.cli("apply", "--plan", str(path), env={CRASH_ENV: point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    return path, old, new


# (crash point, plan verifies ok?, expected end: "old" | "new")
CASES = [
    ("begin", True, "old"),
    ("published", True, "old"),
    ("prepare", True, "old"),
    ("commit", True, "old"),
    ("pushed", True, "old"),  # phase 1 landed, phase 2 did not: undone
    ("committed", True, "old"),
    ("project", True, "old"),
    ("projected", True, "old"),
    ("verify", True, "old"),
    ("prepare:2", True, "old"),
    ("commit:2", True, "old"),
    ("pushing", True, "old"),  # killed while the journal's copy is pushed: recover lets it end, then undoes
    ("pushing:2", True, "old"),  # ... phase 1's push: recover lets it end, then undoes
    ("pushing:3", True, "new"),  # ... phase 2's push: it lands, recover finishes
    ("pushed:2", True, "new"),  # the last push landed: finished
    ("committed:2", True, "new"),
    ("project:2", True, "new"),
    ("projected:2", True, "new"),
    ("verify:2", True, "new"),  # recover runs the last phase's checks again: they pass
    ("verify:2", False, "old"),  # ... they fail: recover undoes, as the live apply would have
    ("done", True, "new"),
    ("compensate", False, "old"),
    ("undo-pushed", False, "old"),
    ("compensated", False, "old"),
]


def test_every_crash_point_is_covered() -> None:
    names = {c[0].partition(":")[0] for c in CASES}
    # `adopt` is reached only by recover: tests/test_txn_remote_journal.py crashes there
    assert names | {"adopt"} == set(POINTS) | set(EXTRA_CRASH_POINTS)


@pytest.mark.slow
@pytest.mark.parametrize(("point", "ok", "end"), CASES, ids=[f"{c[0]}{'' if c[1] else '-failing'}" for c in CASES])
def test_crash_then_recover_is_all_old_or_all_new(tmp_path: Path, point: str, ok: bool, end: str) -> None:
    fx = build(tmp_path)
    with check_server() as (base, _hits):
        path, old, new = killed_apply(fx, base, point, ok)
        assert (fx.work / ".planner/journal/current.jsonl").exists()
        if point == "commit":  # once: a new apply refuses while the journal is open
            refused = fx.cli("apply", "--plan", str(path))
            assert refused.returncode == 6 and "planner recover" in refused.stderr
        rec = fx.cli("recover")
    if point == "verify:2" and not ok:
        assert rec.returncode == 1, rec.stderr
        assert "undone by recover" in rec.stderr and f"GET {base}/bad" in rec.stderr
    else:
        assert rec.returncode == 0, rec.stderr
    got = state(fx)
    assert got == (old if end == "old" else new)
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    assert journal_copies(fx) == []  # the journal's copy on the remote is closed with it
    if point == "commit":
        assert fx.cli("recover").stderr.strip().endswith("nothing to recover")


@pytest.mark.slow
def test_crash_after_push_over_git_daemon(tmp_path: Path) -> None:
    fx = build(tmp_path)
    with git_daemon(tmp_path) as url, check_server() as (base, _hits):
        fx.remote_url = f"{url}/remote.git"
        plan = fx.plan(gated(base, "ok"))
        path = write_plan_json(fx, plan)
        old = state(fx)
        new = expected_new(fx, old, plan, phases=2)
        crashed = fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "pushed:2"})
        assert crashed.returncode == -signal.SIGKILL
        rec = fx.cli("recover")
        assert rec.returncode == 0, rec.stderr
        assert state(fx) == new
