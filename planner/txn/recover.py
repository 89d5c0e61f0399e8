"""``planner recover``: finish or undo an interrupted apply, from its journal.

Rule: a push is atomic, so each attempted commit either landed or did not; the ledger says
which (``planner.txn.ledgerview``: our records in the remote chain, whatever others appended
since or whatever tag objects they pushed). If the LAST phase that commits has landed, every earlier one has too:
roll forward (write the environment keys again, idempotently, and read them back), then run the
verify checks from that phase on again, as the live apply would have: if one fails, undo, as the
live apply would have. Otherwise, or when the apply was already compensating, undo: move landed
tags back with leases, remove our ledger records with a lease on the tip, restore every recorded
KV value; tags someone else moved since stay theirs (``undo(abandon_moved=True)``). Either way
the end is all-new or all-old for this apply, and the journal is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from planner.gitio import Remote, Repo
from planner.kv.base import KVStore
from planner.txn import ledgerview, orphans
from planner.txn.compensate import undo
from planner.txn.context import Context, Counter, CountingStore, Progress, Target
from planner.txn.engine import run_verifies
from planner.txn.errors import ApplyFailedError
from planner.txn.journal import Journal, JournalError
from planner.txn.kvwrites import read_back, write_kv
from planner.txn.lock import checkout_lock
from planner.txn.verify import VerifyError

Outcome = Literal["nothing", "finished", "undone"]


@dataclass(frozen=True)
class RecoverResult:
    outcome: Outcome
    apply_id: str | None
    message: str


def recover(
    *,
    repo: Path | str,
    remote: str,
    targets: Mapping[str, Target],
    progress: Progress | None = None,
    push_wait: float = orphans.WAIT,
) -> RecoverResult:
    """Finish or undo the interrupted apply; ``push_wait``: seconds a push it left running may
    still take before its process group is killed (``planner recover --push-wait``)."""
    git, rem = Repo(Path(repo)), Remote(remote)  # the command's repository and remote, for every stage
    log = progress or (lambda _m: None)
    journal = Journal.open(git.root)
    counter = Counter()
    stores: dict[str, KVStore] = {ns: CountingStore(t.store, counter) for ns, t in targets.items()}
    ctx = Context(git, rem, stores, journal, log, counter)
    with checkout_lock(journal.root):
        entries = journal.load()
        if not entries:
            if journal.in_flight():  # crashed while writing the first line: nothing was written
                journal.current.unlink()
            return RecoverResult("nothing", None, "no interrupted apply: nothing to recover")
        if entries[0]["point"] != "begin":
            raise JournalError("the journal does not start with 'begin'; refusing to guess")
        intent = entries[0]["intent"]
        # A push the crashed apply started may still land: let it end (or stop it) first.
        orphans.settle([e for e in entries if e["point"] == "pushing"], log, push_wait)
        apply_id: str = intent["apply_id"]
        points = [e["point"] for e in entries]
        last_phase = len(intent["phases"]) - 1
        if points[-1] == "done":
            journal.finish(apply_id)
            return RecoverResult("finished", apply_id, f"apply {apply_id} had finished; journal closed")
        if "compensate" in points:
            log(f"apply {apply_id} was being undone: finishing the undo")
            undo(ctx, intent, entries, abandon_moved=True)
            return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")
        # what landed is read from the ledger: our tag objects may equal another apply's
        on_remote = ledgerview.read_view(git, rem, intent["ledger_before"]).phases_of(apply_id)
        final_landed = _last_committing(intent) in on_remote
        if final_landed:
            log(f"apply {apply_id} committed before it stopped: finishing it")
            journal.write("project", phase=last_phase, recover=True)
            project = [k for p in intent["phases"] for k in p["kv"] if k["phase"] == "project"]
            write_kv(ctx, project)
            read_back(ctx, project)
            journal.write("projected", phase=last_phase, recover=True)
            # The crash may have come before or during these checks: GETs, safe to run again.
            verifies = [v for p in intent["phases"][_last_committing(intent) :] for v in p["verifies"]]
            if verifies:
                journal.write("verify", phase=last_phase, recover=True)
                try:
                    run_verifies(ctx, verifies)
                except VerifyError as exc:
                    log(f"{exc.message}: undoing apply {apply_id}")
                    undo(ctx, intent, journal.load(), abandon_moved=True)
                    raise ApplyFailedError(
                        f"apply {apply_id} was undone by recover (everything is back as before): {exc.message}"
                    ) from exc
            journal.write("done", recover=True)
            journal.finish(apply_id)
            return RecoverResult("finished", apply_id, f"apply {apply_id} finished: everything is in its new state")
        log(f"apply {apply_id} had not committed: undoing what it wrote")
        undo(ctx, intent, entries, abandon_moved=True)
        return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")


def _last_committing(intent: Mapping[str, Any]) -> int:
    """The last phase that pushes (tags, keys or the plan's marks: run_phases' rule)."""
    phases = intent["phases"]
    last = len(phases) - 1
    pushes = [i for i, p in enumerate(phases) if p["tags"] or p["kv"] or (i == last and intent.get("marks"))]
    return pushes[-1] if pushes else -1
