"""Release policies, end to end through the CLI (in-process): real repo, bare remote, SQLite KV, ledger.

For every rule: a plan that passes, a plan blocked at plan time, and a plan that passed at plan
time and is blocked at apply time because the world changed (exit 3, nothing changed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import run
from planner.config import load_config
from planner.errors import DiagnosticError
from planner.policy import load_settings
from tests.gitrepo import GIT_ENV, git
from tests.txn_fixture import EXT, TxnFixture, build

KV = '[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n'


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TxnFixture:
    for k, v in GIT_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PLANNER_NOW", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    f = build(tmp_path)
    monkeypatch.chdir(f.work)
    return f


class Planner:
    def __init__(self, fx: TxnFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.fx, self.capsys, self.mp = fx, capsys, monkeypatch

    def config(self, policy: str, environments: str | None = '["staging", "production"]') -> None:
        envs = f"environments = {environments}\n" if environments else ""
        self.fx.repo.write("planner.toml", f'{envs}remote = "origin"\n{policy}\n{KV}')

    def plan_file(self, name: str, body: str) -> str:
        path = f"plans/{name}.plan"
        self.fx.repo.write(path, f'plan "{name}" {{\n{body}}}\n')
        return path

    def __call__(self, *args: str, now: str | None = None) -> tuple[int, str, str]:
        if now is None:
            self.mp.delenv("PLANNER_NOW", raising=False)
        else:
            self.mp.setenv("PLANNER_NOW", now)
        self.capsys.readouterr()
        code = run([*args, "--remote", self.fx.remote_url])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def saved(self, plan: str, now: str | None = None) -> tuple[str, str]:
        """`planner plan -o`: returns (plan.json path, plan id)."""
        out = str(self.fx.work.parent / f"{Path(plan).stem}.json")
        code, _, err = self(*["plan", plan, "-o", out], now=now)
        assert code == 0, err
        return out, json.loads(Path(out).read_text())["plan_id"]


@pytest.fixture
def pl(fx: TxnFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Planner:
    return Planner(fx, capsys, monkeypatch)


def move_tag_by_hand(fx: TxnFixture, env: str, version: str) -> None:
    """Someone moves an env tag outside the planner (no ledger record)."""
    fx.repo.set_env(EXT, env, version)
    git(fx.work, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/{env}")


# ---- promotion order ------------------------------------------------------------------------------


def test_promotion_order_passes_when_staging_holds_it_or_gets_it_first(pl: Planner) -> None:
    pl.config("")
    p = pl.plan_file(
        "both",
        "  promote prompts/extraction v1.1.0 to staging\n  promote prompts/extraction from staging to production\n",
    )
    code, _, err = pl("plan", p)
    assert code == 0, err


def test_promotion_order_blocks_at_plan_time_with_rule_statement_and_reason(pl: Planner) -> None:
    pl.config("")
    p = pl.plan_file("skip", "  promote prompts/extraction v1.1.0 to production\n")
    code, _, err = pl("plan", p)
    assert code == 3
    assert (
        "plans/skip.plan:2:3: error: blocked by policy 'environment-order': prompts/extraction: v1.1.0 goes to"
        " production but staging does not hold it and never held it according to the ledger"
        " (order: staging -> production)" in err
    )
    assert "no plan.json written" in err


def test_promotion_order_accepts_what_the_ledger_says_staging_held(pl: Planner) -> None:
    pl.config("")
    assert pl("apply", pl.plan_file("up", "  promote prompts/extraction v1.1.0 to staging\n"), "--auto-approve")[0] == 0
    # staging is moved back by hand: it no longer holds v1.1.0, but the ledger says it did
    move_tag_by_hand(pl.fx, "staging", "v1.0.0")
    code, _, err = pl("plan", pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n"))
    assert code == 0, err


def test_promotion_order_passed_at_plan_time_blocked_at_apply_time(pl: Planner) -> None:
    pl.config("")
    move_tag_by_hand(pl.fx, "staging", "v1.1.0")  # staging holds v1.1.0 (no ledger record)
    saved, pid = pl.saved(pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n"))
    move_tag_by_hand(pl.fx, "staging", "v1.0.0")  # the world changes before apply
    before = pl.fx.snapshot()
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid)
    assert code == 3
    assert "plans/prod.plan:2:3: error: blocked by policy 'environment-order'" in err
    assert "nothing was applied" in err
    assert pl.fx.snapshot() == before


# ---- protected environments -------------------------------------------------------------------------


def test_protected_env_accepts_a_saved_plan_with_require_id(pl: Planner) -> None:
    pl.config('[policy]\nprotected = ["production"]\norder = []')
    p = pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n")
    saved, pid = pl.saved(p)  # planning passes
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid)
    assert code == 0, err
    assert pl.fx.peeled(f"refs/tags/{EXT}/production") == pl.fx.commits["ext11"]


def test_protected_env_blocks_a_plan_file_applied_directly(pl: Planner) -> None:
    pl.config('[policy]\nprotected = ["production"]\norder = []')
    p = pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n")
    before = pl.fx.snapshot()
    code, _, err = pl("apply", p, "--auto-approve")
    assert code == 3
    assert "plans/prod.plan:2:3: error: blocked by policy 'protected': production is protected" in err
    assert "this was a plan file applied directly" in err
    assert pl.fx.snapshot() == before
    # staging is not protected: a direct apply there passes
    assert (
        pl("apply", pl.plan_file("stg", "  promote prompts/extraction v1.1.0 to staging\n"), "--auto-approve")[0] == 0
    )


def test_protected_env_passed_at_plan_time_blocked_without_require_id(pl: Planner) -> None:
    pl.config('[policy]\nprotected = ["production"]\norder = []')
    saved, _ = pl.saved(pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n"))
    before = pl.fx.snapshot()
    code, _, err = pl("apply", "--plan", saved)
    assert code == 3
    assert "'protected'" in err and "a saved plan without --require-id" in err
    assert pl.fx.snapshot() == before


# ---- freeze windows ---------------------------------------------------------------------------------

FREEZE = """[[policy.freeze]]
env = "production"
from = "2026-12-24T00:00"
to = "2026-12-27T00:00"
tz = "Europe/Berlin"
reason = "holidays"
"""
PROD = "  promote prompts/extraction from staging to production\n"


def test_freeze_passes_before_the_window_in_its_time_zone(pl: Planner) -> None:
    pl.config(FREEZE)
    # 22:00 UTC on the 23rd is 23:00 in Berlin: not frozen yet
    code, _, err = pl("plan", pl.plan_file("prod", PROD), now="2026-12-23T22:00:00Z")
    assert code == 0, err


def test_freeze_blocks_at_plan_time_in_its_time_zone(pl: Planner) -> None:
    pl.config(FREEZE)
    # 23:30 UTC on the 23rd is already 00:30 on the 24th in Berlin
    code, _, err = pl("plan", pl.plan_file("prod", PROD), now="2026-12-23T23:30:00Z")
    assert code == 3
    assert (
        "plans/prod.plan:2:3: error: blocked by policy 'freeze': production is frozen from 2026-12-24 00:00"
        " to 2026-12-27 00:00 Europe/Berlin (holidays); now is 2026-12-24 00:30 Europe/Berlin" in err
    )
    # another environment is not frozen
    stg = pl.plan_file(
        "stg", "  promote prompts/summary v1.0.0 to staging\n  promote prompts/extraction v1.1.0 to staging\n"
    )
    assert pl("plan", stg, now="2026-12-23T23:30:00Z")[0] == 0


def test_freeze_passed_at_plan_time_blocked_at_apply_time_then_lifted(pl: Planner) -> None:
    pl.config(FREEZE)
    p = pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to staging\n" + PROD)
    saved, pid = pl.saved(p, now="2026-12-23T12:00:00Z")
    before = pl.fx.snapshot()
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid, now="2026-12-26T12:00:00Z")
    assert code == 3 and "'freeze'" in err and "plans/prod.plan:3:3" in err
    assert pl.fx.snapshot() == before
    # 23:30 UTC on the 26th is 00:30 on the 27th in Berlin: the window is over
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid, now="2026-12-26T23:30:00Z")
    assert code == 0, err


def test_freeze_settings_errors_point_at_planner_toml(pl: Planner) -> None:
    pl.config(FREEZE.replace("Europe/Berlin", "Europe/Atlantis"))
    with pytest.raises(DiagnosticError) as exc:
        load_settings(load_config(pl.fx.work))
    d = exc.value.diagnostics[0]
    assert d.message == "[[policy.freeze]] unknown time zone 'Europe/Atlantis'"
    assert d.span is not None and (d.span.file, d.span.line, d.span.column) == ("planner.toml", 7, 7)


# ---- rejected versions ------------------------------------------------------------------------------


def test_reject_statement_blocks_promotion_until_override(pl: Planner) -> None:
    pl.config("", environments=None)
    rej = pl.plan_file("rej", '  reject prompts/extraction v1.1.0 "hallucinates dates"\n')
    code, _, err = pl("apply", rej, "--auto-approve")
    assert code == 0, err
    marks = pl.fx.cli("history", "--format", "json")
    assert json.loads(marks.stdout)["applies"][0]["marks"] == [
        {
            "component": "prompts/extraction",
            "kind": "reject",
            "reason": "hallucinates dates",
            "step_id": "reject prompts/extraction@v1.1.0",
            "version": "v1.1.0",
        }
    ]
    up = pl.plan_file("up", "  promote prompts/extraction v1.1.0 to staging\n")
    code, _, err = pl("plan", up)
    assert code == 3
    assert (
        "plans/up.plan:2:3: error: blocked by policy 'rejected': prompts/extraction v1.1.0 was rejected:"
        " hallucinates dates" in err
    )
    assert "add `override prompts/extraction v1.1.0` to the plan" in err
    over = pl.plan_file(
        "over",
        '  override prompts/extraction v1.1.0 "fixed upstream"\n  promote prompts/extraction v1.1.0 to staging\n',
    )
    code, out, err = pl("plan", over)
    assert code == 0, err
    assert "overrides prompts/extraction v1.1.0: fixed upstream" in out
    assert pl("apply", over, "--auto-approve")[0] == 0
    # the override is recorded: the rejection is lifted for later plans too
    assert pl("plan", pl.plan_file("prod", "  promote prompts/extraction v1.1.0 to production\n"))[0] == 0


def test_rollback_rejects_the_version_it_moves_away_from(pl: Planner) -> None:
    pl.config("", environments=None)
    assert pl("apply", pl.plan_file("up", "  promote prompts/extraction v1.1.0 to staging\n"), "--auto-approve")[0] == 0
    assert (
        pl("apply", pl.plan_file("back", "  rollback prompts/extraction in staging to v1.0.0\n"), "--auto-approve")[0]
        == 0
    )
    code, _, err = pl("plan", pl.plan_file("again", "  promote prompts/extraction v1.1.0 to staging\n"))
    assert code == 3
    assert "'rejected': prompts/extraction v1.1.0 was rejected: rolled back in staging to v1.0.0 by plan 'back'" in err


def test_rejected_passed_at_plan_time_blocked_at_apply_time(pl: Planner) -> None:
    pl.config("", environments=None)
    saved, pid = pl.saved(pl.plan_file("up", "  promote prompts/extraction v1.1.0 to staging\n"))
    assert pl("apply", pl.plan_file("rej", "  reject prompts/extraction v1.1.0\n"), "--auto-approve")[0] == 0
    before = pl.fx.snapshot()
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid)
    assert code == 3 and "plans/up.plan:2:3: error: blocked by policy 'rejected'" in err
    assert pl.fx.snapshot() == before


def test_reject_of_a_version_without_tag_is_a_positioned_error(pl: Planner) -> None:
    pl.config("", environments=None)
    code, _, err = pl("plan", pl.plan_file("rej", "  reject prompts/extraction v9.9.9\n"))
    assert code == 1
    assert "plans/rej.plan:2:29: error: reject prompts/extraction v9.9.9: that version has no tag on the remote" in err


# ---- the rebuild report -----------------------------------------------------------------------------


def test_apply_json_reports_logic_rebuilds_and_github_output(
    pl: Planner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fx = pl.fx
    pl.config("", environments=None)
    router = fx.repo.register("router", "config", "logic/router.yaml", "routes: 1\n")
    git(fx.work, "tag", "-a", "logic/configs/router/v1.0.0", "-m", "Release router v1.0.0", router)
    git(fx.work, "push", "-q", "origin", "refs/tags/logic/configs/router/v1.0.0")
    out_file = tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    p = pl.plan_file(
        "rel", "  promote configs/router v1.0.0 to staging\n  promote prompts/extraction v1.1.0 to production\n"
    )
    code, out, err = pl("apply", p, "--format", "json", "--auto-approve")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["status"] == "applied" and rep["rebuild"] == ["staging"]
    assert rep["environments"] == {
        "production": {"logic_moved": False, "components": [], "commit": None},
        "staging": {
            "logic_moved": True,
            "components": [{"component": "configs/router", "commit": router}],
            "commit": router,
        },
    }
    lines = out_file.read_text().splitlines()
    assert 'rebuild=["staging"]' in lines and "needs_rebuild=true" in lines
    assert f'rebuild_commits={{"staging": "{router}"}}' in lines
    assert f"apply_id={rep['apply_id']}" in lines


# ---- the pure pieces --------------------------------------------------------------------------------


def test_rejections_replay_the_ledger_oldest_first() -> None:
    from planner.policy import rejected_versions

    newest_first = [
        {"apply_id": "3", "time": "t3", "marks": [{"kind": "reject", "component": "prompts/a", "version": "v2.0.0"}]},
        {"apply_id": "2", "time": "t2", "marks": [{"kind": "override", "component": "prompts/a", "version": "v1.0.0"}]},
        {
            "apply_id": "1",
            "time": "t1",
            "marks": [{"kind": "reject", "component": "prompts/a", "version": "v1.0.0", "reason": "bad"}],
        },
        {"apply_id": "0", "time": "t0"},  # records written before marks existed
    ]
    assert rejected_versions(newest_first) == {("prompts/a", "v2.0.0"): "rejected (apply 3, t3)"}
    assert rejected_versions(newest_first[1:]) == {}
    assert rejected_versions(newest_first[2:]) == {("prompts/a", "v1.0.0"): "bad (apply 1, t1)"}


def test_freeze_window_is_local_time_across_a_dst_change() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from planner.policy import Freeze

    berlin = ZoneInfo("Europe/Berlin")
    # Berlin switches to summer time at 2027-03-28 02:00 local (01:00 UTC)
    f = Freeze(
        "production",
        datetime(2027, 3, 27, 0, 0, tzinfo=berlin),
        datetime(2027, 3, 29, 0, 0, tzinfo=berlin),
        "Europe/Berlin",
    )
    assert not f.covers(datetime(2027, 3, 26, 22, 59, tzinfo=UTC))  # 23:59 CET
    assert f.covers(datetime(2027, 3, 26, 23, 0, tzinfo=UTC))  # 00:00 CET: start is inclusive
    assert f.covers(datetime(2027, 3, 28, 21, 59, tzinfo=UTC))  # 23:59 CEST
    assert not f.covers(datetime(2027, 3, 28, 22, 0, tzinfo=UTC))  # 00:00 CEST: end is exclusive


def test_planner_now_hook_parses_or_refuses() -> None:
    from planner.errors import PlannerError
    from planner.policy import now

    assert now({"PLANNER_NOW": "2026-12-25T10:00:00Z"}).isoformat() == "2026-12-25T10:00:00+00:00"
    assert now({"PLANNER_NOW": "2026-12-25T10:00"}).isoformat() == "2026-12-25T10:00:00+00:00"
    with pytest.raises(PlannerError, match="PLANNER_NOW='soon' is not an ISO 8601 time"):
        now({"PLANNER_NOW": "soon"})


def test_policy_settings_reject_unknown_keys_with_position(pl: Planner) -> None:
    pl.config('[policy]\nprotectd = ["production"]')
    with pytest.raises(DiagnosticError) as exc:
        load_settings(load_config(pl.fx.work))
    d = exc.value.diagnostics[0]
    assert d.message.startswith("unknown key 'protectd' in [policy] (did you mean 'protected'?)")
    assert d.span is not None and (d.span.line, d.span.column) == (4, 1)


def test_check_reports_a_reject_of_an_untagged_version(pl: Planner) -> None:
    pl.config("", environments=None)
    p = pl.plan_file("rej", "  reject prompts/extraction v9.9.9\n  override prompts/extraction v1.0.0\n")
    code, out, _ = pl("check", p)
    assert code == 1
    assert "plans/rej.plan:2:29: error: reject prompts/extraction v9.9.9: that version has no tag on the remote" in out
    assert "override" not in out  # v1.0.0 exists: no error for it
