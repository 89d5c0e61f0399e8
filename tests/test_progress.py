"""Progress of an apply on a terminal: clean lines, no log timestamps or source links (issue 14.5)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ptyrun import PLANNER, run_on_pty
from tests.txn_fixture import EXT, RELEASE, TxnFixture, build

TIMESTAMP = re.compile(r"\[\d\d:\d\d:\d\d\]")
SOURCE_LINK = re.compile(r"\w+\.py[#:]\d+")


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    fx = build(tmp_path)
    fx.repo.write("plans/rel.plan", RELEASE)
    return fx


def test_progress_on_a_terminal_is_clean(fx: TxnFixture) -> None:
    argv = ["apply", "plans/rel.plan", "--auto-approve", "--remote", fx.remote_url]
    code, screen = run_on_pty(argv, fx.work)
    assert code == 0, screen
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    for step in ("prepare: writing", "commit: one atomic push of 3 ref(s)", "project: writing"):
        assert f"  {step}" in screen, screen
    assert not TIMESTAMP.search(screen), screen
    assert not SOURCE_LINK.search(screen), screen
    assert "planner: " not in screen  # the plain form is for logs, not terminals


def test_progress_without_a_terminal_stays_plain_lines(fx: TxnFixture) -> None:
    proc = subprocess.run(
        [PLANNER, "apply", "plans/rel.plan", "--auto-approve", "--format", "json", "--remote", fx.remote_url],
        cwd=fx.work,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("{")  # JSON alone on stdout
    lines = proc.stderr.splitlines()
    assert "planner: commit: one atomic push of 3 ref(s) (phase 1)" in lines
    assert "\x1b" not in proc.stderr and not TIMESTAMP.search(proc.stderr)
