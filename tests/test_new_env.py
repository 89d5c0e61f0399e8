"""Environments are never created by accident (issue 13.3, plan side): without `environments` in
planner.toml the known environments are those with tags on the remote; a plan names a new one
only with `create environment ENV`, and the review says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import run
from planner.gitio import Remote, Repo
from tests.txn_fixture import TxnFixture, build

TYPO = 'plan "t" {\n  promote prompts/extraction v1.1.0 to prodution\n}\n'
NEW = 'plan "t" {\n  create environment qa\n  promote prompts/extraction v1.1.0 to qa\n}\n'


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    fx = build(tmp_path)  # staging and production tags on the remote; planner.toml lists no environments
    (fx.work / "plans").mkdir()
    return fx


def plan_cli(fx: TxnFixture, text: str, *args: str) -> int:
    (fx.work / "plans" / "t.plan").write_text(text, encoding="utf-8")
    return run(["plan", str(fx.work / "plans" / "t.plan"), *args, "--repo", str(fx.work)])


def test_env_typo_without_config_is_an_error_with_did_you_mean(
    fx: TxnFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_cli(fx, TYPO) == 1  # as every plan error (a missing plan file exits 1 too)
    err = capsys.readouterr().err
    assert (
        "t.plan:2:40: error: unknown environment 'prodution' (did you mean 'production'?); "
        "environments with tags on the remote: production, staging"
    ) in err
    assert "note: to start a new environment, write: create environment prodution" in err
    assert "Traceback" not in err
    # check agrees (one resolver): same error, exit 1
    (fx.work / "plans" / "t.plan").write_text(TYPO, encoding="utf-8")
    assert run(["check", str(fx.work / "plans" / "t.plan"), "--repo", str(fx.work)]) == 1
    assert "unknown environment 'prodution' (did you mean 'production'?)" in capsys.readouterr().out


def test_every_statement_naming_an_env_is_checked(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        'plan "t" {\n  promote prompts/extraction from stagin to production\n'
        "  rollback prompts/summary in prod to v1.0.0\n"
        '  verify qa get "https://x.example" expect 200\n}\n'
    )
    assert plan_cli(fx, text) == 1
    err = capsys.readouterr().err
    assert "t.plan:2:35: error: unknown environment 'stagin' (did you mean 'staging'?)" in err
    assert "t.plan:3:31: error: unknown environment 'prod' (did you mean 'production'?)" in err
    assert "t.plan:4:10: error: unknown environment 'qa';" in err


def test_explicit_new_env_is_accepted_and_shown_in_the_review(
    fx: TxnFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_cli(fx, NEW) == 0
    text = capsys.readouterr().out
    assert "creates environment 'qa' (it has no tags on the remote yet)" in text
    assert "qa: (none) -> v1.1.0" in text
    assert plan_cli(fx, NEW, "--format", "markdown") == 0
    md = capsys.readouterr().out
    notice = next(line for line in md.splitlines() if "creates environment" in line)  # under "Notices"
    assert md.index("#### Notices") < md.index(notice) and "qa" in notice and "no tags on the remote yet" in notice
    out = fx.work / "plan.json"
    assert plan_cli(fx, NEW, "-o", str(out)) == 0
    notices = [n["message"] for n in json.loads(out.read_text())["notices"]]
    assert "creates environment 'qa' (it has no tags on the remote yet)" in notices


def test_declared_env_typo_gets_did_you_mean_too(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    text = 'plan "t" {\n  create environment canary\n  promote prompts/extraction v1.1.0 to canry\n}\n'
    assert plan_cli(fx, text) == 1
    err = capsys.readouterr().err
    assert (
        "unknown environment 'canry' (did you mean 'canary'?); environments with tags on the remote:"
        " production, staging; created by this plan: canary"
    ) in err


def test_declaration_mistakes(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        'plan "t" {\n  create environment qa\n  create environment qa\n'
        "  x: create environment dev after x\n  promote prompts/extraction v1.1.0 to qa\n}\n"
    )
    assert plan_cli(fx, text) == 1
    err = capsys.readouterr().err
    assert "t.plan:3:22: error: environment 'qa' is created twice (first at " in err
    assert "t.plan:4:3: error: 'create environment' runs no step: it takes no label and no 'after'" in err
    # existing: a note, nothing new; declared but unused: a warning, nothing new either
    text = 'plan "t" {\n  create environment staging\n  create environment qa\n}\n'
    assert plan_cli(fx, text) == 0
    out = capsys.readouterr()
    assert "creates environment" not in out.out
    assert "environment 'qa' is created but no statement moves a component into it" in out.out
    assert run(["check", str(fx.work / "plans" / "t.plan"), "--repo", str(fx.work)]) == 0
    assert "note: environment 'staging' already has tags on the remote; nothing to create" in capsys.readouterr().out


def test_env_with_remote_tags_but_no_config_is_accepted(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert not (fx.work / "planner.toml").read_text().count("environments")
    text = 'plan "t" {\n  promote prompts/extraction v1.1.0 to production\n}\n'
    assert plan_cli(fx, text) == 0
    out = capsys.readouterr().out
    assert "production: v1.0.0 -> v1.1.0" in out and "creates environment" not in out


def test_a_config_list_still_decides(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    toml = fx.work / "planner.toml"
    toml.write_text(
        toml.read_text().replace(
            'remote = "origin"\n', 'remote = "origin"\nenvironments = ["canary", "staging", "production"]\n'
        )
    )
    assert "canary" in toml.read_text()
    # listed: known without a declaration, though it has no tags yet (as before)
    assert plan_cli(fx, 'plan "t" {\n  promote prompts/extraction v1.1.0 to canary\n}\n') == 0
    assert "canary: (none) -> v1.1.0" in capsys.readouterr().out
    # not listed: the config's error and note, as before
    assert plan_cli(fx, 'plan "t" {\n  promote prompts/extraction v1.1.0 to canry\n}\n') == 1
    err = capsys.readouterr().err
    assert "t.plan:2:40: error: unknown environment 'canry' (did you mean 'canary'?)" in err
    assert "note: planner.toml lists: canary, staging, production" in err
    # a declaration does not bypass the list
    assert plan_cli(fx, NEW) == 1
    err = capsys.readouterr().err
    assert (
        "t.plan:2:22: error: environment 'qa' is not in planner.toml's environments; add it there to create it" in err
    )


def test_cli_promote_needs_new_env_for_a_new_environment(fx: TxnFixture) -> None:
    out = fx.cli("promote", "prompts/extraction", "v1.1.0", "--to", "qa")
    assert out.returncode == 1
    assert "unknown environment 'qa'" in out.stderr and "--new-env" in out.stderr
    out = fx.cli("promote", "prompts/extraction", "v1.1.0", "--to", "qa", "--new-env", "--auto-approve")
    assert out.returncode == 0, out.stderr
    assert "creates environment 'qa'" in out.stdout + out.stderr
    assert fx.peeled("refs/tags/components/prompts/extraction/qa") == fx.peeled(
        "refs/tags/components/prompts/extraction/v1.1.0"
    )


def test_syntax_error_names_the_statement(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_cli(fx, 'plan "t" {\n  create environment\n}\n') == 1
    err = capsys.readouterr().err
    assert "t.plan:3:1: error: syntax error: missing environment name after 'create environment'" in err


def test_library_lists_the_new_environments(fx: TxnFixture) -> None:
    from planner.config import load_config
    from planner.lang.compile import Inputs, compile_text
    from planner.registry import load_registry
    from planner.state import snapshot

    text = (
        'plan "t" {\n  create environment qa\n  promote prompts/extraction from qa to staging\n'
        "  promote prompts/extraction v1.1.0 to qa\n}\n"
    )
    inputs = Inputs(load_registry(fx.work), snapshot(Repo(fx.work), Remote(fx.remote_url)), load_config(fx.work))
    plan = compile_text(text, "t.plan", inputs)
    assert plan.new_environments == ("qa",)
    # the copy out of the new environment is ordered after the move into it
    assert [s.id for s in plan.steps] == ["move prompts/extraction@qa", "move prompts/extraction@staging"]
