"""Verify steps and gates: a failed verify after the commit is compensated, across phases."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.txn.engine import apply_plan
from planner.txn.errors import ApplyFailedError
from tests.http_check_server import check_server
from tests.txn_fixture import EXT, TxnFixture, build, ledger_records


def gated(base: str, second: str) -> str:
    return f"""plan "gated" {{
  promote prompts/extraction v1.1.0 to staging
  checked: verify staging get "{base}/ok" expect 200
  promote prompts/extraction from staging to production after checked
  verify production get "{base}/{second}" expect 200
}}
"""


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def test_gated_plan_pushes_once_per_phase(fx: TxnFixture) -> None:
    with check_server() as (base, hits):
        plan = fx.plan(gated(base, "ok"))
        res = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert res.pushes == 2 and len(res.ledger_commits) == 2
    assert hits == ["/ok", "/ok"]
    assert fx.peeled(f"refs/tags/{EXT}/production") == fx.commits["ext11"]
    recs = ledger_records(fx)
    assert [(r["phase"], r["phases"]) for r in recs] == [(2, 2), (1, 2)]
    assert [r["refs"][0]["ref"] for r in recs] == [f"refs/tags/{EXT}/production", f"refs/tags/{EXT}/staging"]


def test_failed_verify_in_a_later_phase_undoes_the_earlier_ones(fx: TxnFixture) -> None:
    with check_server() as (base, hits):
        plan = fx.plan(gated(base, "bad"))
        before = fx.snapshot()
        with pytest.raises(ApplyFailedError) as info:
            apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert "got 500, expected 200" in info.value.message and "undone" in info.value.message
    assert hits.count("/bad") == 3  # bounded retries
    assert fx.snapshot() == before  # both phases undone: tags, ledger, KV
    assert ledger_records(fx) == []


def test_failed_verify_exit_code_via_cli(fx: TxnFixture) -> None:
    with check_server() as (base, _hits):
        plan_file = fx.work.parent / "v.plan"
        plan_file.write_text(
            f'plan "v" {{\n  promote prompts/summary v1.0.0 to production\n'
            f'  verify production get "{base}/bad" expect 200\n}}\n'
        )
        before = fx.snapshot()
        out = fx.cli("apply", str(plan_file), "--auto-approve")
    assert out.returncode == 1, out.stderr
    assert "undone" in out.stderr and "Traceback" not in out.stderr
    assert fx.snapshot() == before
