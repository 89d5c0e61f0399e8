"""Concurrent applies as real processes against one bare remote (issue 18).

A ``pre-receive`` hook on the remote that sleeps holds every push between the ref advertisement
and the ref update, so racing applies really overlap (as on a slow network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GIT_ENV, git
from tests.txn_fixture import ANA, EXT, ROOT, SUMM, TxnFixture, build, ledger_records, write_plan_json

DISJOINT = {
    "ext-staging": "promote prompts/extraction v1.1.0 to staging",
    "ext-production": "promote prompts/extraction v1.1.0 to production",
    "ana-staging": "promote agents/analyzer v2.0.0 to staging",
    "summ-production": "promote prompts/summary v1.0.0 to production",
}


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def slow_remote(fx: TxnFixture, seconds: float) -> None:
    """Every push to the bare remote waits ``seconds`` in pre-receive (after the advertisement)."""
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(f"#!{sys.executable}\nimport sys, time\nsys.stdin.read()\ntime.sleep({seconds})\n")
    hook.chmod(0o755)


def checkout(fx: TxnFixture, name: str) -> Path:
    """A clone of the remote sharing the fixture's KV file (as CI runners share Cloudflare KV)."""
    work = fx.work.parent / name
    git(fx.work.parent, "clone", "-q", str(fx.repo.remote), str(work))
    kv = fx.work / ".planner/kv.sqlite"
    (work / "planner.toml").write_text(f'remote = "origin"\n[kv]\nstore = "sqlite"\npath = "{kv}"\n')
    (work / ".git/info/exclude").write_text(".planner/\nplanner.toml\n")
    return work


def start(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "planner", *args, "--repo", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
    )


def test_disjoint_applies_all_land(fx: TxnFixture) -> None:
    plans = {
        name: write_plan_json(fx, fx.plan(f'plan "{name}" {{\n  {st}\n}}\n'), f"{name}.json")
        for name, st in DISJOINT.items()
    }
    works = {name: checkout(fx, f"w-{name}") for name in plans}
    slow_remote(fx, 0.5)
    procs = {name: start(works[name], "apply", "--plan", str(path)) for name, path in plans.items()}
    results = {name: (p.wait(timeout=180), p.stderr.read() if p.stderr else "") for name, p in procs.items()}
    for p in procs.values():
        p.communicate()
    assert {n: rc for n, (rc, _e) in results.items()} == dict.fromkeys(plans, 0), results
    assert sorted(r["plan_name"] for r in ledger_records(fx)) == sorted(plans)
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{EXT}/production") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]
    assert fx.peeled(f"refs/tags/{SUMM}/production") == fx.commits["summ1"]
    kv = fx.kv("production")
    assert kv["prompts/extraction@production"] == b"Extract v1.1\n"
    assert kv["prompts/summary@production"] == b"Summarize v1\n"
    assert fx.kv("staging")["agents/analyzer@staging"] == b"model: b\n"
