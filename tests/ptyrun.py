"""Run the installed ``planner`` on a real pseudo-terminal (stdin, stdout and stderr all on it).

``run_on_pty(argv, cwd, answer=...)`` waits for the confirmation question, types ``answer``
(``None``: Ctrl-D, end of input), and returns (exit code, everything the terminal showed).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.gitrepo import GIT_ENV

PLANNER = str(Path(sys.executable).with_name("planner"))
QUESTION = b"Enter a value: "
CTRL_D = b"\x04"


def run_on_pty(argv: list[str], cwd: Path, *, answer: str | None = "", timeout: float = 120) -> tuple[int, str]:
    """``answer``: typed after the question (a newline is added); None sends Ctrl-D; "" answers
    nothing (for commands that must not ask)."""
    master, slave = os.openpty()
    env = {**os.environ, **GIT_ENV, "TERM": "xterm", "COLUMNS": "100", "LINES": "40"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [PLANNER, *argv], cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = bytearray()
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and answer != "" and QUESTION in seen:
                os.write(master, CTRL_D if answer is None else answer.encode() + b"\n")
                answered = True
            if not ready and proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, seen.decode("utf-8", "replace")
