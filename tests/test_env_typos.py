"""Environments are never invented by a typo: `--env` must name an environment planner.toml lists,
or (without that list) one that has tags on the remote; otherwise an error with did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli import run
from tests.txn_fixture import TxnFixture, build


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)  # staging and production tags on the remote; planner.toml lists no environments


ARGVS = [
    ["status", "--env", "{env}"],
    ["status", "--env", "{env}", "--format", "json"],
    ["kv", "ls", "--env", "{env}"],
    ["kv", "get", "prompts/extraction@{env}"],
    ["history", "--env", "{env}"],
    ["kv", "diff", "--env", "{env}"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=lambda a: " ".join(a[:2]))
def test_env_typo_is_an_error_with_did_you_mean(
    fx: TxnFixture, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*(a.replace("{env}", "prodution") for a in argv), "--repo", str(fx.work)]) == 1
    cap = capsys.readouterr()
    assert (
        "error: unknown environment 'prodution' (did you mean 'production'?); "
        "environments with tags on the remote: production, staging"
    ) in cap.err
    assert cap.out == ""


@pytest.mark.parametrize("argv", ARGVS, ids=lambda a: " ".join(a[:2]))
def test_known_env_is_accepted(fx: TxnFixture, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = run([*(a.replace("{env}", "production") for a in argv), "--repo", str(fx.work)])
    assert code in (0, 2), capsys.readouterr().err  # kv diff exits 2 when keys differ
    assert "unknown environment" not in capsys.readouterr().err


def test_configured_list_is_the_known_set(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    (fx.work / "planner.toml").write_text(
        'remote = "origin"\nenvironments = ["staging", "production", "canary"]\n'
        '[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n'
    )
    assert run(["status", "--env", "canary", "--repo", str(fx.work)]) == 0  # listed: known, though no tags yet
    capsys.readouterr()
    assert run(["status", "--env", "canray", "--repo", str(fx.work)]) == 1
    assert "unknown environment 'canray' (did you mean 'canary'?); planner.toml lists: staging, production, canary" in (
        capsys.readouterr().err
    )
