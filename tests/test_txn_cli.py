"""The apply CLI surface: dry run before apply, --format json, remote check, progress lines, rollback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.artifact import load
from planner.cli import run
from planner.txn.engine import apply_plan
from planner.txn.errors import RemoteMismatchError
from planner.txn.remote import normalize_remote
from tests.gitrepo import GIT_ENV, git
from tests.http_check_server import check_server
from tests.txn_fixture import ANA, EXT, RELEASE, ROOT, TxnFixture, build, ledger_records, write_plan_json


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def cli(fx: TxnFixture, *args: str) -> int:
    return run([*args, "--repo", str(fx.work), "--remote", fx.remote_url])


def write_plan(fx: TxnFixture, text: str, name: str = "rel.plan") -> Path:
    path = fx.work / "plans" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_apply_plan_prints_the_dry_run_then_applies(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(fx, "apply", str(write_plan(fx, RELEASE)), "--auto-approve") == 0
    cap = capsys.readouterr()
    assert 'Plan "rel"' in cap.out and "prompts/extraction  staging: v1.0.0 -> v1.1.0" in cap.out
    assert cap.err.index("planner: reading remote state") < cap.err.index("applied 'rel'")
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_apply_format_json_is_alone_on_stdout(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    before = fx.snapshot()["refs"]
    assert cli(fx, "apply", str(write_plan(fx, RELEASE)), "--format", "json", "--auto-approve") == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)  # nothing else on stdout: the dry run went to stderr
    assert 'Plan "rel"' in cap.err
    after = fx.snapshot()["refs"]
    assert doc["status"] == "applied" and doc["plan_name"] == "rel" and doc["kv_written"] == 4
    assert doc["apply_id"] == ledger_records(fx)[0]["apply_id"]
    assert doc["keys_written"] == 4 and doc["rebuild"] == [] and list(doc["environments"]) == ["staging"]
    assert {t["ref"]: (t["old"], t["new"]) for t in doc["tags"]} == {
        f"refs/tags/{EXT}/staging": (before[f"refs/tags/{EXT}/staging"], after[f"refs/tags/{EXT}/staging"]),
        f"refs/tags/{ANA}/staging": (before[f"refs/tags/{ANA}/staging"], after[f"refs/tags/{ANA}/staging"]),
    }
    # a saved plan re-applied: a machine-readable no-op, with the same plan id
    saved = write_plan_json(fx, fx.plan(RELEASE))
    assert cli(fx, "apply", "--plan", str(saved), "--format", "json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["status"] == "noop" and again["tags"] == [] and again["kv_written"] == 0
    assert cli(fx, "apply", str(saved), "--format", "yaml") == 1
    assert "Invalid value for '--format': 'yaml' is not one of 'text', 'json'." in capsys.readouterr().err


def test_apply_from_inside_the_checkout_without_repo_option(fx: TxnFixture) -> None:
    """`--repo` defaults to `.`: the push's scratch paths must not stay relative (git refuses those)."""
    write_plan(fx, RELEASE)
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "apply", "plans/rel.plan", "--auto-approve"],
        cwd=fx.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]


def test_saved_plan_for_another_remote_is_refused(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    saved = write_plan_json(fx, fx.plan(RELEASE))  # computed against fx.remote_url (a path)
    mirror = fx.work.parent / "mirror.git"
    git(fx.work.parent, "clone", "-q", "--bare", str(fx.repo.remote), str(mirror))  # same tags: leases would hold
    before, mirror_before = fx.snapshot()["refs"], git(mirror, "for-each-ref")
    code = run(["apply", "--plan", str(saved), "--repo", str(fx.work), "--remote", str(mirror)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"computed against remote '{fx.remote_url}'" in err and f"push to '{mirror}'" in err
    assert "Traceback" not in err
    assert fx.snapshot()["refs"] == before and git(mirror, "for-each-ref") == mirror_before
    # the library entry point refuses it too (the check lives in the engine)
    with pytest.raises(RemoteMismatchError):
        apply_plan(load(saved.read_text()), repo=fx.work, remote=f"file://{mirror}", targets=fx.targets())
    assert fx.snapshot()["refs"] == before and git(mirror, "for-each-ref") == mirror_before
    # the same remote spelled as a remote name (planner.toml: origin) is accepted
    assert run(["apply", "--plan", str(saved), "--repo", str(fx.work)]) == 0
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]


def test_normalize_remote(tmp_path: Path) -> None:
    repo = tmp_path / "work"
    assert normalize_remote("../remote.git", repo) == (tmp_path / "remote.git").resolve().as_posix()
    assert normalize_remote(f"file://{tmp_path}/remote.git", repo) == (tmp_path / "remote.git").resolve().as_posix()
    assert normalize_remote("https://GitHub.com/o/r.git/", repo) == normalize_remote("https://github.com/o/r", repo)
    assert normalize_remote("git@github.com:o/r.git", repo) == normalize_remote("git@github.com:o/r", repo)
    assert normalize_remote("https://github.com/o/r", repo) != normalize_remote("https://github.com/o/fork", repo)
    assert normalize_remote("git@github.com:o/r", repo) != normalize_remote("https://github.com/o/r", repo)


def test_progress_is_plain_lines_off_a_terminal(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    with check_server() as (base, hits):
        text = f"""plan "gated" {{
  promote prompts/extraction v1.1.0 to staging
  checked: verify staging get "{base}/ok" expect 200
  promote prompts/extraction from staging to production after checked
}}
"""
        assert cli(fx, "apply", str(write_plan(fx, text, "gated.plan")), "--auto-approve") == 0
    assert hits == ["/ok"]
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("planner: ")]
    assert lines == [
        "planner: reading remote state",
        "planner: prepare: writing 1 version key(s)",
        "planner: commit: one atomic push of 2 ref(s) (phase 1)",
        "planner: project: writing 1 environment key(s)",
        f"planner: verify staging: {base}/ok -> 200",
        "planner: prepare: writing 1 version key(s)",
        "planner: commit: one atomic push of 2 ref(s) (phase 2)",
        "planner: project: writing 1 environment key(s)",
        lines[-1],
    ]
    assert lines[-1].startswith("planner: applied: 2 tag(s), 4 key(s); ledger ")


def test_rollback_writes_a_checked_plan_and_applies_nothing(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(fx, "apply", str(write_plan(fx, RELEASE)), "--auto-approve") == 0
    capsys.readouterr()
    snap = fx.snapshot()
    out_file = fx.work.parent / "back.plan"
    assert cli(fx, "rollback", "prompts/extraction", "--env", "staging", "-o", str(out_file)) == 0
    cap = capsys.readouterr()
    text = out_file.read_text(encoding="utf-8")
    assert "  rollback prompts/extraction in staging to v1.0.0\n" in text  # resolved from the ledger
    assert "previous target, from the release ledger" in text
    assert "prompts/extraction  staging: v1.1.0 -> v1.0.0" in cap.out  # the dry run
    assert f"rollback plan written to {out_file}" in cap.err
    assert fx.snapshot() == snap  # nothing applied
    # the written plan goes through plan and apply like any other
    assert cli(fx, "plan", str(out_file), "--detailed-exitcode") == 2
    assert cli(fx, "apply", str(out_file), "--auto-approve") == 0
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]
    assert fx.kv("staging")["prompts/extraction@staging"] == b"Extract v1\n"


def test_rollback_with_explicit_version_and_default_path(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(fx, "rollback", "agents/analyzer", "--env", "staging", "--to", "v2.0.0") == 0
    written = fx.work / "plans/rollback-agents-analyzer-staging.plan"
    assert "  rollback agents/analyzer in staging to v2.0.0\n" in written.read_text(encoding="utf-8")
    assert "agents/analyzer  staging: v1.0.0 -> v2.0.0" in capsys.readouterr().out


def test_rollback_errors(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = fx.work.parent / "x.plan"
    # no ledger record of a move: no previous target to go back to
    assert cli(fx, "rollback", "prompts/extraction", "--env", "staging", "-o", str(out_file)) == 1
    assert "records no previous target" in capsys.readouterr().err
    # a version that does not exist: the plan does not compile, nothing is written
    assert cli(fx, "rollback", "prompts/extraction", "--env", "staging", "--to", "v9.9.9", "-o", str(out_file)) == 1
    err = capsys.readouterr().err
    assert "v9.9.9" in err and "Traceback" not in err
    # hostile names never reach plan text or a file name
    assert cli(fx, "rollback", "prompts/-x", "--env", "staging", "-o", str(out_file)) == 1
    assert cli(fx, "rollback", "prompts/extraction", "--env", "a/b", "-o", str(out_file)) == 1
    assert not out_file.exists()


def test_progress_on_a_terminal_is_rich_and_the_apply_lands(tmp_path: Path) -> None:
    """stderr on a terminal: rich's log lines and status (plain `planner: ...` lines otherwise)."""
    import pty

    from tests.txn_fixture import GIT_ENV

    fx = build(tmp_path)
    path = write_plan_json(fx, fx.plan(RELEASE))
    master, slave = pty.openpty()
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    argv = [sys.executable, "-m", "planner", "apply", "--plan", str(path), "--repo", str(fx.work)]
    proc = subprocess.Popen(
        [*argv, "--remote", fx.remote_url], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in shown  # terminal control sequences: rich, not plain lines
    assert "planner: reading remote state" not in shown
    assert "reading remote state" in shown and "applied 'rel'" in shown
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
