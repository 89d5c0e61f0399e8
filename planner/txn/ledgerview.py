"""Which phases of an apply are on the remote, read from the ledger, and the ledger without them.

An apply's own ledger commits are the only proof that its push landed: its tag objects may be
byte-identical to another apply's (same plan, same identity, same second), and its ledger commit
may no longer be the tip (other applies append on top, ``planner.txn.ledgerpush``) or may have
been rebuilt by another apply's undo. So a phase landed iff a record with this apply's id and
that phase is in the remote chain. Only the part of the chain above ``ledger_before`` (the tip
this apply started from) can hold them, so only that part is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.gitio import Opt, Remote, Repo
from planner.model import LEDGER_REF
from planner.state import read_remote_refs
from planner.txn import ledger


@dataclass(frozen=True)
class LedgerView:
    refs: dict[str, tuple[str, str]]  # the remote's refs, as read
    tip: str | None
    records: list[dict[str, Any]]  # above ledger_before, newest first (with "ledger_commit")
    base: str | None  # the parent of the oldest record read

    def phases_of(self, apply_id: str) -> set[int]:
        """0-based phases of ``apply_id`` on the remote."""
        return {int(r["phase"]) - 1 for r in self.records if r.get("apply_id") == apply_id}

    def moves_of(self, apply_id: str) -> dict[str, dict[str, Any]]:
        """``{ref: its record ({"before", "after", ...})}`` for every ref ``apply_id`` moved, as landed."""
        return {m["ref"]: m for r in self.records if r.get("apply_id") == apply_id for m in r["refs"]}


def read_view(repo: Repo, remote: Remote, ledger_before: str | None) -> LedgerView:
    refs = read_remote_refs(repo, remote)
    tip = refs.get(LEDGER_REF, (None, None))[0]
    ledger.fetch_ledger(repo, remote, tip)
    stop = ledger_before if ledger_before and _has(repo, ledger_before) else None
    records = ledger.read_records(repo, tip, stop=stop)
    base = tip
    if records:
        proc = repo.run(["rev-parse", Opt("--verify"), Opt("-q"), f"{records[-1]['ledger_commit']}^"], check=False)
        base = proc.stdout.decode().strip() or None if proc.returncode == 0 else None
    return LedgerView(refs, tip, records, base)


def without(repo: Repo, view: LedgerView, apply_id: str) -> str | None:
    """The tip of the chain with every record of ``apply_id`` removed: the records above the
    oldest of them are rebuilt on top of its parent (same record, new commit)."""
    ours = [i for i, r in enumerate(view.records) if r.get("apply_id") == apply_id]
    if not ours:
        return view.tip
    oldest = ours[-1]
    parent = view.records[oldest + 1]["ledger_commit"] if oldest + 1 < len(view.records) else view.base
    for rec in reversed(view.records[:oldest]):
        if rec.get("apply_id") == apply_id:
            continue
        record = {k: v for k, v in rec.items() if k != "ledger_commit"}
        parent = ledger.build_commit(repo, record, parent)
    return parent


def _has(repo: Repo, commit: str) -> bool:
    return repo.run(["cat-file", Opt("-e"), f"{commit}^{{commit}}"], check=False).returncode == 0
