"""Two applies of conflicting plans from two checkouts: exactly one lands, the other exits 5
(or 4 when it re-reads after the winner landed) and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.txn.engine import apply_plan
from planner.txn.errors import ConflictError
from tests.gitrepo import GIT_ENV, git
from tests.txn_fixture import EXT, ROOT, TxnFixture, clone_checkout, cloudflare_fixture, ledger_records, write_plan_json

PLAN_A = 'plan "a" {\n  promote prompts/extraction v1.1.0 to staging\n}\n'
PLAN_B = 'plan "b" {\n  create prompts/extraction v1.2.0 at main\n  promote prompts/extraction v1.2.0 to staging\n}\n'


def second_checkout(fx: TxnFixture) -> Path:
    """A clone of the remote sharing the same Cloudflare KV (as two CI runners do)."""
    return clone_checkout(fx, "work2")


def cli(work: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "planner", *args, "--repo", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TxnFixture]:
    yield from cloudflare_fixture(tmp_path, monkeypatch)


def test_lost_race_exits_5_and_changes_nothing(fx: TxnFixture) -> None:
    """B has re-read state and is about to push when A lands from another checkout."""
    work2 = second_checkout(fx)
    plan_a = fx.plan(PLAN_A)
    plan_b = fx.plan(PLAN_B)
    path_a = write_plan_json(fx, plan_a, "a.json")

    def progress(msg: str) -> None:
        if msg.startswith("commit:"):  # B re-read the remote and built its objects: A lands now
            proc = cli(work2, "apply", "--plan", str(path_a))
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err

    with pytest.raises(ConflictError) as info:
        apply_plan(plan_b, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), progress=progress)
    assert info.value.exit_code == 5
    assert f"refs/tags/{EXT}/staging" in info.value.refs and f"refs/tags/{EXT}/staging" in info.value.message
    # A landed completely; B left no trace (no v1.2.0 tag, no v1.2.0 key, A's staging value kept)
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert f"refs/tags/{EXT}/v1.2.0" not in fx.repo.remote_refs()
    kv = fx.kv("staging")
    assert kv["prompts/extraction@staging"] == b"Extract v1.1\n"
    assert "prompts/extraction@v1.2.0" not in kv
    assert [r["plan_name"] for r in ledger_records(fx)] == ["a"]


def test_two_concurrent_applies_exactly_one_lands(fx: TxnFixture) -> None:
    work2 = second_checkout(fx)
    path_a = write_plan_json(fx, fx.plan(PLAN_A), "a.json")
    path_b = write_plan_json(fx, fx.plan(PLAN_B), "b.json")
    pa = cli(fx.work, "apply", "--plan", str(path_a))
    pb = cli(work2, "apply", "--plan", str(path_b))
    _oa, ea = pa.communicate(timeout=120)
    _ob, eb = pb.communicate(timeout=120)
    ra, rb = pa.returncode, pb.returncode
    assert sorted([ra, rb])[0] == 0 and sorted([ra, rb])[1] in (4, 5), (ea, eb)
    loser_err = eb if ra == 0 else ea
    assert f"{EXT}/staging" in loser_err and "nothing was changed" in loser_err
    winner = "a" if ra == 0 else "b"
    assert [r["plan_name"] for r in ledger_records(fx)] == [winner]
    staging = fx.peeled(f"refs/tags/{EXT}/staging")
    kv = fx.kv("staging")
    if winner == "a":
        assert staging == fx.commits["ext11"] and f"refs/tags/{EXT}/v1.2.0" not in fx.repo.remote_refs()
        assert kv["prompts/extraction@staging"] == b"Extract v1.1\n" and "prompts/extraction@v1.2.0" not in kv
    else:
        main = git(fx.work, "rev-parse", "main")
        assert staging == main and kv["prompts/extraction@v1.2.0"] == kv["prompts/extraction@staging"]
