"""The apply journal under ``.planner/journal/``: one JSON line per step, fsynced BEFORE the step.

``current.jsonl`` exists only while an apply is in flight (or after a crash); on success or after
recovery it is moved to ``done/<apply id>.jsonl``. Old KV values needed to undo are stored
content-addressed in ``blobs/<sha256>`` and fsynced with the entry that refers to them.

Test-only crash hook: when ``PLANNER_CRASH_AT=<point>`` (or ``<point>:<n>`` for the n-th time the
point is reached) is set, the process SIGKILLs itself right after that journal entry is durable.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import PlannerError

JOURNAL_DIR = Path(".planner") / "journal"
CRASH_ENV = "PLANNER_CRASH_AT"

# Every point the journal records, in protocol order (the crash tests iterate over these).
POINTS = (
    "begin",  # intent and every old value recorded; nothing written yet
    "prepare",  # about to write version-addressed KV keys
    "commit",  # about to push (tag objects and ledger commit already written locally)
    "committed",  # the push landed: from here on recover rolls forward
    "project",  # about to write env keys
    "projected",  # env keys written and read back
    "verify",  # about to run verify checks
    "compensate",  # a step failed after a commit: about to undo
    "compensated",  # undone: all old
    "done",  # finished: all new
)


class JournalError(PlannerError):
    """The journal is unreadable or belongs to a different checkout state."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Journal:
    root: Path  # the .planner/journal directory
    entries: list[dict[str, Any]] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    @property
    def current(self) -> Path:
        return self.root / "current.jsonl"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @classmethod
    def open(cls, repo: Path) -> Journal:
        root = repo / JOURNAL_DIR
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    def in_flight(self) -> bool:
        return self.current.exists()

    def load(self) -> list[dict[str, Any]]:
        """Entries of the in-flight journal; a torn last line (crash mid-write) is ignored."""
        out: list[dict[str, Any]] = []
        try:
            text = self.current.read_text(encoding="utf-8")
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # only the last line can be torn: it was never acknowledged
        self.entries = out
        return out

    def save_blob(self, value: bytes) -> str:
        digest = hashlib.sha256(value).hexdigest()
        self.blobs.mkdir(exist_ok=True)
        path = self.blobs / digest
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        return digest

    def read_blob(self, digest: str) -> bytes:
        try:
            return (self.blobs / digest).read_bytes()
        except FileNotFoundError:
            raise JournalError(f"journal blob {digest[:12]} is missing; cannot restore that KV value") from None

    def write(self, point: str, **data: Any) -> None:
        """Append ``point`` durably (file and directory fsynced), then honour the crash hook."""
        if point not in POINTS:
            raise JournalError(f"internal error: unknown journal point {point!r}")
        entry = {"point": point, **data}
        line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
        created = not self.current.exists()
        if self.blobs.exists():
            _fsync_dir(self.blobs)
        with open(self.current, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        if created:
            _fsync_dir(self.root)
        self.entries.append(entry)
        self._maybe_crash(point)

    def _maybe_crash(self, point: str) -> None:
        want = os.environ.get(CRASH_ENV)
        if not want:
            return
        name, _, nth = want.partition(":")
        if name != point:
            return
        self._counts[point] = self._counts.get(point, 0) + 1
        if self._counts[point] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)

    def finish(self, apply_id: str) -> Path:
        """Move the journal to done/ (kept as a local record); blobs are no longer needed."""
        done = self.root / "done"
        done.mkdir(exist_ok=True)
        target = done / f"{apply_id}.jsonl"
        os.replace(self.current, target)
        _fsync_dir(self.root)
        if self.blobs.exists():
            for p in self.blobs.iterdir():
                p.unlink()
        return target

    def iter_points(self) -> Iterator[str]:
        return (e["point"] for e in self.entries)
