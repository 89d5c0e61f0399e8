"""The apply journal under ``.planner/journal/``: one JSON line per step, fsynced BEFORE the step.

``current.jsonl`` exists only while an apply is in flight (or after a crash); on success or after
recovery it is moved to ``done/<apply id>.jsonl``. Its copy on the remote, for recovery from
another machine, is planner.txn.remotejournal's. Old KV values needed to undo are stored
in ``blobs/pack-NNNN.json`` ({sha256: base64}), one file fsynced before the entry that refers to them.

Test-only crash hook: when ``PLANNER_CRASH_AT=<point>`` (or ``<point>:<n>`` for the n-th time the
point is reached) is set, the process SIGKILLs itself right after that journal entry is durable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import PlannerError

JOURNAL_DIR = Path(".planner") / "journal"
CRASH_ENV = "PLANNER_CRASH_AT"

# Crash points that are not journal entries (the moments between two entries that matter most).
EXTRA_CRASH_POINTS = ("pushed", "undo-pushed")

# Every point the journal records, in protocol order (the crash tests iterate over these).
POINTS = (
    "begin",  # intent and every old value recorded; nothing written yet
    "published",  # its copy is on the remote (planner.txn.remotejournal): another machine can recover it
    "prepare",  # about to write version-addressed KV keys
    "commit",  # about to push (tag objects and ledger commit already written locally)
    "pushing",  # a git push (this pid = its process group) is running: recover waits for it
    "committed",  # the push landed: from here on recover rolls forward
    "project",  # about to write env keys
    "projected",  # env keys written and read back
    "verify",  # about to run verify checks
    "compensate",  # a step failed after a commit: about to undo
    "compensated",  # undone: all old
    "done",  # finished: all new
    "adopt",  # recover took this journal over from the remote's copy (the first entries are the copy's)
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
    _pending: dict[str, bytes] = field(default_factory=dict)
    _loaded: dict[str, bytes] = field(default_factory=dict)
    copy_oid: str | None = None  # the copy on the remote as recover read it (see remote_oid)

    @property
    def current(self) -> Path:
        return self.root / "current.jsonl"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @classmethod
    def open(cls, repo: Path) -> Journal:
        from planner.workspace import state_dir

        root = state_dir(repo) / JOURNAL_DIR.name  # one journal per repository, shared by its worktrees
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

    @property
    def remote_oid(self) -> str | None:
        """The commit of this journal's copy on the remote, if it has one (planner.txn.remotejournal)."""
        if self.copy_oid is not None:
            return self.copy_oid
        for e in reversed(self.entries):
            if e["point"] in ("published", "adopt"):
                return str(e["oid"])
        return None

    def adopted(self) -> bool:
        return any(e["point"] == "adopt" for e in self.entries)

    def take_over(self, entries: list[dict[str, Any]], blobs: dict[str, bytes], oid: str) -> None:
        """Start the local journal from a copy on the remote: its blobs, its entries and ``adopt``,
        in ONE file put in place at once, so a crash leaves either no journal or the whole one
        (a journal without its ``adopt`` would be taken for this machine's own, which it is not)."""
        if self.current.exists():
            raise JournalError("internal error: a journal is already in flight here")
        self._pending.update(blobs)
        self._flush_blobs()
        adopt = {"point": "adopt", "oid": oid}
        lines = "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in [*entries, adopt])
        tmp = self.current.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.current)
        _fsync_dir(self.root)
        self.entries = [*entries, adopt]
        self.copy_oid = oid
        self.crash_point("adopt")

    def all_blobs(self) -> dict[str, bytes]:
        """Every old value kept so far (written and pending)."""
        self._read_packs()
        return {**self._loaded, **self._pending}

    def save_blob(self, value: bytes) -> str:
        """Keep ``value`` for the next entry; it is written with it (one file, one fsync)."""
        digest = hashlib.sha256(value).hexdigest()
        self._pending[digest] = value
        return digest

    def _flush_blobs(self) -> None:
        if not self._pending:
            return
        self.blobs.mkdir(exist_ok=True)
        n = len(list(self.blobs.glob("pack-*.json")))
        path = self.blobs / f"pack-{n:04d}.json"
        data = json.dumps({d: base64.b64encode(v).decode() for d, v in self._pending.items()})
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.blobs)
        self._loaded.update(self._pending)
        self._pending.clear()

    def _read_packs(self) -> None:
        if self.blobs.exists():
            for pack in sorted(self.blobs.glob("pack-*.json")):
                data = json.loads(pack.read_text(encoding="utf-8"))
                self._loaded.update({d: base64.b64decode(v) for d, v in data.items()})

    def read_blob(self, digest: str) -> bytes:
        if digest not in self._loaded:
            self._read_packs()
        try:
            return self._loaded[digest]
        except KeyError:
            raise JournalError(f"journal blob {digest[:12]} is missing; cannot restore that KV value") from None

    def write(self, point: str, **data: Any) -> None:
        """Append ``point`` durably (file and directory fsynced), then honour the crash hook."""
        if point not in POINTS:
            raise JournalError(f"internal error: unknown journal point {point!r}")
        entry = {"point": point, **data}
        line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
        created = not self.current.exists()
        self._flush_blobs()  # old values are durable before the entry that refers to them
        with open(self.current, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        if created:
            _fsync_dir(self.root)
        self.entries.append(entry)
        self.crash_point(point)

    def crash_point(self, point: str) -> None:
        """Test-only hook (see module doc); also called at points between entries: ``pushed``
        (the push landed, ``committed`` not yet written) and ``undo-pushed`` (tags moved back,
        KV not yet restored)."""
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
