"""Pushes a crashed apply left running: wait for them (or kill them) before recover decides.

``git push`` runs in its own process group (planner.txn.push), and its pid is journaled
(``pushing``) before apply waits for it. SIGKILLing apply does not stop it: on a slow network it
may reach the remote after ``planner recover`` read the remote and concluded "not landed",
leaving tags new and KV old. So recover first waits for every journaled push group to end,
kills it when it outlives ``WAIT`` seconds, and only then reads the remote: whatever landed has
landed, and nothing else can. (A server that keeps going after its client died is out of reach
of any client; over ssh/https git's receive-pack stops when the connection drops.)

A pid is identified with its start time (``/proc/<pid>/stat``), so a reused number is not
mistaken for our push.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

WAIT = 60.0  # seconds a journaled push may still take before recover kills it
_PROC = Path("/proc")


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, process group, start time) of ``pid``, or None if it does not exist."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
        return None
    fields = text.rpartition(")")[2].split()  # after "pid (comm)": the name may hold spaces
    return fields[0], int(fields[2]), fields[19]


def record(pid: int) -> dict[str, Any]:
    """What the journal keeps of a started push: its pid (= its group) and start time."""
    st = _stat(pid)
    return {"pid": pid, "pgid": pid, "start": st[2] if st else None}


def alive(rec: Mapping[str, Any]) -> bool:
    """Is any live (not zombie) process of the recorded push group still there?"""
    pgid = int(rec["pgid"])
    if not _PROC.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    leader = _stat(pgid)
    if leader is not None and rec.get("start") is not None and leader[2] != rec["start"]:
        return False  # the number was reused: that is another process
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] == pgid and st[0] != "Z":
                return True
    return False


def settle(records: Iterable[Mapping[str, Any]], progress: Callable[[str], None], wait: float = WAIT) -> None:
    """Return once no recorded push group is running: wait up to ``wait`` s, then kill it."""
    running = [r for r in records if alive(r)]
    if not running:
        return
    progress(f"recover: waiting for {len(running)} push(es) the interrupted apply left running")
    deadline = time.monotonic() + wait
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = [r for r in running if alive(r)]
    for r in running:
        progress(f"recover: stopping push process group {r['pgid']} (still running after {wait:.0f} s)")
        try:
            os.killpg(int(r["pgid"]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    end = time.monotonic() + 10
    while any(alive(r) for r in running) and time.monotonic() < end:
        time.sleep(0.05)
