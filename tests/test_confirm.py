"""`apply PLAN` and `promote` ask before changing anything, on a real terminal (issue 14.3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from planner.errors import EXIT_NOT_CONFIRMED
from tests.ptyrun import PLANNER, run_on_pty
from tests.txn_fixture import ANA, EXT, RELEASE, TxnFixture, build, write_plan_json


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    fx = build(tmp_path)
    fx.repo.write("plans/rel.plan", RELEASE)
    return fx


def apply_argv(fx: TxnFixture) -> list[str]:
    return ["apply", "plans/rel.plan", "--remote", fx.remote_url]


def test_yes_applies(fx: TxnFixture) -> None:
    code, screen = run_on_pty(apply_argv(fx), fx.work, answer="yes")
    assert code == 0, screen
    assert "Apply plan 'rel'" in screen and "Only 'yes' will be accepted" in screen
    assert screen.index("prompts/extraction") < screen.index("Enter a value")  # the plan first
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]


@pytest.mark.parametrize("answer", ["no", "y", "YES ", None], ids=["no", "y", "YES", "ctrl-d"])
def test_anything_but_yes_changes_nothing(fx: TxnFixture, answer: str | None) -> None:
    before = fx.snapshot()
    code, screen = run_on_pty(apply_argv(fx), fx.work, answer=answer)
    assert code == EXIT_NOT_CONFIRMED, screen
    assert "apply cancelled: nothing was changed" in screen and "Traceback" not in screen
    assert fx.snapshot() == before
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]


def test_promote_asks_too(fx: TxnFixture) -> None:
    argv = ["promote", "prompts/extraction", "v1.1.0", "--to", "staging", "--remote", fx.remote_url]
    code, screen = run_on_pty(argv, fx.work, answer="no")
    assert code == EXIT_NOT_CONFIRMED and "Enter a value" in screen
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]
    code, screen = run_on_pty(argv, fx.work, answer="yes")
    assert code == 0, screen
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_auto_approve_does_not_ask(fx: TxnFixture) -> None:
    code, screen = run_on_pty([*apply_argv(fx), "--auto-approve"], fx.work)
    assert code == 0, screen
    assert "Enter a value" not in screen
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_a_saved_plan_is_not_asked_about(fx: TxnFixture) -> None:
    saved = write_plan_json(fx, fx.plan(RELEASE))
    code, screen = run_on_pty(["apply", "--plan", str(saved), "--remote", fx.remote_url], fx.work)
    assert code == 0, screen
    assert "Enter a value" not in screen
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_without_a_terminal_it_refuses(fx: TxnFixture) -> None:
    before = fx.snapshot()
    for argv in (apply_argv(fx), ["promote", "prompts/extraction", "v1.1.0", "--to", "staging"]):
        proc = subprocess.run(
            [PLANNER, *argv], cwd=fx.work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == EXIT_NOT_CONFIRMED, proc.stderr
        assert "stdin is not a terminal" in proc.stderr and "--auto-approve" in proc.stderr
        assert "Enter a value" not in proc.stderr
    assert fx.snapshot() == before


def test_a_plan_with_nothing_to_do_is_not_asked_about(fx: TxnFixture) -> None:
    argv = [PLANNER, *apply_argv(fx)]
    assert subprocess.run([*argv, "--auto-approve"], cwd=fx.work, capture_output=True, timeout=120).returncode == 0
    again = subprocess.run(argv, cwd=fx.work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already applied" in again.stderr and "--auto-approve" not in again.stderr
