"""Suggestions (issue 14.8): the name part of ``type/name`` decides (a shared ``prompts/`` prefix is no
match); an incomplete version, an unknown branch and a new environment near a known one get one."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli import run
from planner.lang.passes.names import suggest as _suggest
from tests.txn_fixture import TxnFixture, build


def test_name_part_decides() -> None:
    known = ["prompts/extraction", "agents/analyzer"]
    assert _suggest("prompts/summary", known) == ""  # was: did you mean 'prompts/extraction'
    assert _suggest("prompts/extration", known) == " (did you mean 'prompts/extraction'?)"
    assert _suggest("prompt/extraction", known) == " (did you mean 'prompts/extraction'?)"
    assert _suggest("schemas/extraction", known) == ""  # another type entirely
    assert _suggest("prod", ["staging", "production"]) == " (did you mean 'production'?)"
    assert _suggest("stagng", ["staging", "production"]) == " (did you mean 'staging'?)"


# ---- the CLI, on a real repository and remote ---------------------------------------------------


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def check(fx: TxnFixture, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    fx.repo.write("plans/t.plan", f'plan "t" {{\n{body}}}\n')
    code = run(["check", str(fx.work / "plans/t.plan"), "--repo", str(fx.work), "--remote", fx.remote_url])
    return code, capsys.readouterr().out


def test_an_incomplete_version_suggests_the_full_one(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(fx, "  promote prompts/extraction v1.1 to staging\n", capsys)
    assert code == 1
    assert "t.plan:2:30: error: syntax error: incomplete version 'v1.1' (did you mean v1.1.0?)" in out
    assert "the 'v' is required" not in out  # it is there
    argv = ["promote", "prompts/extraction", "v1.1", "--to", "staging", "--repo", str(fx.work)]
    assert run(argv) == 1
    assert "error: invalid version 'v1.1' (did you mean v1.1.0?)" in capsys.readouterr().err


def test_an_unknown_branch_suggests_a_near_one(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(fx, "  create prompts/extraction v1.2.0 at mian\n", capsys)
    assert code == 1
    assert "error: cannot resolve 'mian' to a commit (not a branch, tag or commit) (did you mean 'main'?)" in out
    code, out = check(fx, "  create prompts/extraction v1.2.0 at zzzz\n", capsys)
    assert code == 1 and "did you mean" not in out


def test_an_environment_close_to_a_known_one_is_suggested(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(fx, "  promote prompts/extraction v1.1.0 to stagng\n", capsys)
    assert code == 1  # unknown and not declared with `create environment` (planner.toml lists none) ...
    assert "unknown environment 'stagng' (did you mean 'staging'?)" in out
    code, out = check(fx, "  create environment qa\n  promote prompts/extraction v1.1.0 to qa\n", capsys)
    assert code == 0 and "did you mean" not in out  # ... a declared new one is not questioned
    code, out = check(fx, "  promote prompts/extraction v1.1.0 to production\n", capsys)
    assert "new environment" not in out
