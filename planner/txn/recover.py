"""``planner recover``: finish or undo an interrupted apply, from its journal.

Rule: a push is atomic, so each attempted commit either landed or did not (``engine.landed``
reads the remote once). If the LAST phase that commits has landed, every earlier one has too:
roll forward (write the environment keys again, idempotently, and read them back), then run the
verify checks from that phase on again, as the live apply would have: if one fails, undo, as the
live apply would have. Otherwise, or when the apply was already compensating, undo: move landed
tags back with leases, rewind the ledger with a lease, restore every recorded KV value. Either
way the end is all-new or all-old.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from planner.kv.base import KVStore
from planner.state import read_remote_refs
from planner.txn.engine import (
    Context,
    Counter,
    CountingStore,
    Progress,
    Target,
    commits_from_journal,
    landed,
    read_back,
    run_verifies,
    undo,
    write_kv,
)
from planner.txn.errors import ApplyFailedError
from planner.txn.journal import Journal, JournalError
from planner.txn.lock import checkout_lock
from planner.txn.verify import VerifyError

Outcome = Literal["nothing", "finished", "undone"]


@dataclass(frozen=True)
class RecoverResult:
    outcome: Outcome
    apply_id: str | None
    message: str


def recover(
    *, repo: Path | str, remote: str, targets: Mapping[str, Target], progress: Progress | None = None
) -> RecoverResult:
    repo = Path(repo)
    log = progress or (lambda _m: None)
    journal = Journal.open(repo)
    counter = Counter()
    stores: dict[str, KVStore] = {ns: CountingStore(t.store, counter) for ns, t in targets.items()}
    ctx = Context(repo, remote, stores, journal, log, counter)
    with checkout_lock(journal.root):
        entries = journal.load()
        if not entries:
            if journal.in_flight():  # crashed while writing the first line: nothing was written
                journal.current.unlink()
            return RecoverResult("nothing", None, "no interrupted apply: nothing to recover")
        if entries[0]["point"] != "begin":
            raise JournalError("the journal does not start with 'begin'; refusing to guess")
        intent = entries[0]["intent"]
        apply_id: str = intent["apply_id"]
        points = [e["point"] for e in entries]
        last_phase = len(intent["phases"]) - 1
        if points[-1] == "done":
            journal.finish(apply_id)
            return RecoverResult("finished", apply_id, f"apply {apply_id} had finished; journal closed")
        if "compensate" in points:
            log(f"apply {apply_id} was being undone: finishing the undo")
            undo(ctx, intent, entries)
            return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")
        committing = [i for i, p in enumerate(intent["phases"]) if p["tags"] or p["kv"]]
        commits = commits_from_journal(entries)
        remote_refs = read_remote_refs(remote, cwd=repo)
        final_landed = bool(committing) and any(
            c["phase"] == committing[-1] and landed(remote_refs, c) for c in commits
        )
        if final_landed:
            log(f"apply {apply_id} committed before it stopped: finishing it")
            journal.write("project", phase=last_phase, recover=True)
            project = [k for p in intent["phases"] for k in p["kv"] if k["phase"] == "project"]
            write_kv(ctx, project)
            read_back(ctx, project)
            journal.write("projected", phase=last_phase, recover=True)
            # The crash may have come before or during these checks: GETs, safe to run again.
            verifies = [v for p in intent["phases"][committing[-1] :] for v in p["verifies"]]
            if verifies:
                journal.write("verify", phase=last_phase, recover=True)
                try:
                    run_verifies(ctx, verifies)
                except VerifyError as exc:
                    log(f"{exc.message}: undoing apply {apply_id}")
                    undo(ctx, intent, journal.load())
                    raise ApplyFailedError(
                        f"apply {apply_id} was undone by recover (everything is back as before): {exc.message}"
                    ) from exc
            journal.write("done", recover=True)
            journal.finish(apply_id)
            return RecoverResult("finished", apply_id, f"apply {apply_id} finished: everything is in its new state")
        log(f"apply {apply_id} had not committed: undoing what it wrote")
        undo(ctx, intent, entries)
        return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")
