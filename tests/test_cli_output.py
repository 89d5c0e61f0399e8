"""Output errors through the full (Typer) CLI: a full disk is reported, a closed reader is quiet,
and nothing is lost or truncated, with buffered and with unbuffered (``PYTHONUNBUFFERED=1``) stdout.

``planner status`` (text) writes a rich table through the full CLI; with ``PYTHONUNBUFFERED=1``
every write reaches the file descriptor at once, so the error happens in the middle of the
command rather than in the final flush.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import EdgitRepo, git

PLANNER = Path(sys.executable).parent / "planner"
MODES = {"buffered": None, "unbuffered": "1"}


def env_for(mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if MODES[mode] is not None:
        env["PYTHONUNBUFFERED"] = MODES[mode]  # type: ignore[assignment]
    return env


N = 3000  # table rows: ~160 KB of output, more than a pipe holds (64 KiB), written in one go by rich


@pytest.fixture
def many(edgit_repo: EdgitRepo) -> list[str]:
    """``planner status`` (text) for a remote whose table is larger than a pipe's buffer."""
    commit = edgit_repo.register("p0000", "prompt", "prompts/p0000.md", "x\n")
    edgit_repo.push()
    refs = "".join(f"create refs/tags/components/prompts/p{i:04d}/v1.0.0 {commit}\n" for i in range(N))
    git(edgit_repo.remote, "update-ref", "--stdin", input=refs.encode())  # lightweight tags, one git call
    return [str(PLANNER), "status", "--repo", str(edgit_repo.work), "--remote", str(edgit_repo.remote)]


@pytest.mark.parametrize("mode", list(MODES))
def test_full_disk_is_reported_without_a_traceback(many: list[str], mode: str) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(many, stdout=full, stderr=subprocess.PIPE, text=True, env=env_for(mode), check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("error: cannot write output: No space left on device") == 1
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@pytest.mark.parametrize("mode", list(MODES))
def test_closed_reader_is_quiet_and_fails(many: list[str], mode: str) -> None:
    p = subprocess.Popen(many, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(mode))
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.read(10)  # `| head -c 10`: the reader takes a little, then goes away
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=60) == 1  # never 0: the output was not all written
    assert "Traceback" not in err and "Exception ignored" not in err and "error:" not in err


def test_output_is_whole_in_both_modes(many: list[str], tmp_path: Path) -> None:
    outputs = {}
    for mode in MODES:
        proc = subprocess.run(many, capture_output=True, env=env_for(mode), check=True, timeout=60)
        outputs[mode] = proc.stdout
    assert outputs["buffered"] == outputs["unbuffered"]
    assert len(outputs["buffered"]) > 65536
    for i in range(N):
        assert f"prompts/p{i:04d} ".encode() in outputs["buffered"]


@pytest.mark.parametrize("args", [["status"], ["status", "--format", "json"], ["--help"]], ids=" ".join)
def test_closed_stdout_is_reported(edgit_repo: EdgitRepo, args: list[str]) -> None:
    # `planner status >&-`: Python starts with sys.stdout None.
    cmd = [str(PLANNER), *args]
    if args[0] == "status":
        cmd += ["--repo", str(edgit_repo.work), "--remote", str(edgit_repo.remote)]
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1), check=False)
    assert proc.returncode == 1
    assert "error: cannot write output: standard output is closed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unencodable_output_is_reported(edgit_repo: EdgitRepo) -> None:
    edgit_repo.register("cafe", "prompt", "prompts/caf\u00e9.md", "x\n")
    env = {**env_for("buffered"), "PYTHONIOENCODING": "ascii"}
    cmd = [str(PLANNER), "components", "list", "--repo", str(edgit_repo.work)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "error: cannot write output: '\\xe9' cannot be written in the output encoding ascii" in proc.stderr
    assert "PYTHONIOENCODING=utf-8" in proc.stderr and "Traceback" not in proc.stderr
    ok = subprocess.run(cmd, capture_output=True, env={**env, "PYTHONIOENCODING": "utf-8"}, check=True)
    assert "prompts/caf\u00e9.md".encode() in ok.stdout


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_ctrl_c_while_writing_is_interrupted_not_a_traceback(many: list[str], fmt: str) -> None:
    # Nobody reads the pipe: the command blocks writing its (>64 KiB) output; then Ctrl-C.
    p = subprocess.Popen(
        [*many, "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for("buffered")
    )
    assert p.stdout is not None and p.stderr is not None
    wchan = Path(f"/proc/{p.pid}/wchan")
    deadline = time.monotonic() + 60
    while "pipe_write" not in wchan.read_text():  # blocked in write(2) on the full pipe (anon_pipe_write)
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    err = p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    assert p.wait(timeout=60) == 130
    assert err.endswith("interrupted\n") and "Traceback" not in err
