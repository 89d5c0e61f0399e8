"""``planner recover``: finish or undo an interrupted apply, from its journal: this checkout's,
or else the copy an apply on another machine left on the remote (planner.txn.remotejournal).

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from planner.gitio import Remote, Repo
from planner.kv.base import KVStore
from planner.state import read_remote_refs
from planner.txn import ledgerview, orphans, remotejournal
from planner.txn.compensate import not_addressed_by, undo, untouched_since
from planner.txn.context import Context, Counter, CountingStore, Progress, Target
from planner.txn.engine import run_verifies
from planner.txn.errors import ApplyFailedError, PartialApplyError
from planner.txn.journal import Journal, JournalError
from planner.txn.kvwrites import read_back, write_kv
from planner.txn.lock import checkout_lock
from planner.txn.verify import VerifyError

Outcome = Literal["nothing", "finished", "undone", "elsewhere"]
Targets = Mapping[str, Target] | Callable[[Sequence[str]], Mapping[str, Target]]


@dataclass(frozen=True)
class RecoverResult:
    outcome: Outcome
    apply_id: str | None
    message: str


def recover(
    *,
    repo: Path | str,
    remote: str,
    targets: Targets,
    progress: Progress | None = None,
    push_wait: float = orphans.WAIT,
    adopt: Callable[[remotejournal.RemoteCopy], str | None] | None = None,
) -> RecoverResult:
    """Finish or undo the interrupted apply of this checkout, or else every one whose journal's
    copy is on the remote (planner.txn.remotejournal). ``targets``: the KV targets, or a function
    of the namespaces the journal names that opens them. ``push_wait``: seconds a push it left
    running may still take before its process group is killed (``planner recover --push-wait``).
    ``adopt(copy)``: a reason to refuse taking that copy over (None: take it), e.g. the GitHub
    reconcile takes over only what its own workflow runs left."""
    git, rem = Repo(Path(repo)), Remote(remote)  # the command's repository and remote, for every stage
    log = progress or (lambda _m: None)
    journal = Journal.open(git.root)

    def context(intent: Mapping[str, Any]) -> Context:
        counter = Counter()
        names = sorted({k["namespace"] for p in intent["phases"] for k in p["kv"]})
        found = targets(names) if callable(targets) else targets
        stores: dict[str, KVStore] = {ns: CountingStore(t.store, counter) for ns, t in found.items()}
        return Context(git, rem, stores, journal, log, counter)

    with checkout_lock(journal.root):
        entries = journal.load()
        if entries:
            if entries[0]["point"] != "begin":
                raise JournalError("the journal does not start with 'begin'; refusing to guess")
            intent = entries[0]["intent"]
            # A push the crashed apply started (its copy's, too) may still land: let it end (or stop it) first.
            orphans.settle([e for e in entries if e["point"] == "pushing"], log, push_wait)
            mine = remotejournal.copies_on(read_remote_refs(git, rem)).get(intent["apply_id"])
            if mine is None and journal.remote_oid is not None:
                journal.finish(intent["apply_id"])  # its copy is gone: another machine closed it
                return RecoverResult(
                    "elsewhere",
                    intent["apply_id"],
                    f"apply {intent['apply_id']} was recovered from another machine (its journal's copy is gone "
                    "from the remote): the local journal is closed, nothing was changed",
                )
            journal.copy_oid = mine  # ours, also when the crash came before `published` was journaled
            return _recover_one(context(intent), intent, entries)
        if journal.in_flight():  # crashed while writing the first line: nothing was written
            journal.current.unlink()
        found = remotejournal.copies_on(read_remote_refs(git, rem))
        results: list[RecoverResult] = []
        for copy in remotejournal.read_copies(git, rem, found):
            ctx = context(copy.intent)
            if (journal.root / "done" / f"{copy.apply_id}.jsonl").exists():  # closed here, its copy left behind
                remotejournal.retire(ctx, copy.apply_id, copy.oid)
                results.append(RecoverResult("finished", copy.apply_id, f"apply {copy.apply_id} had been closed"))
                continue
            refusal = adopt(copy) if adopt is not None else None
            if refusal:
                raise PartialApplyError(f"{copy.describe()} is in flight or was interrupted: {refusal}")
            log(f"recover: taking over the journal of {copy.describe()} from the remote")
            journal.take_over(copy.entries, copy.blobs, copy.oid)
            results.append(_recover_one(ctx, copy.intent, journal.entries))
        if not results:
            return RecoverResult("nothing", None, "no interrupted apply: nothing to recover")
        last = results[-1]
        return RecoverResult(last.outcome, last.apply_id, "\n".join(r.message for r in results))


def _recover_one(ctx: Context, intent: Mapping[str, Any], entries: list[dict[str, Any]]) -> RecoverResult:
    git, rem, journal, log = ctx.repo, ctx.remote, ctx.journal, ctx.progress
    apply_id: str = intent["apply_id"]
    points = [e["point"] for e in entries]
    last_phase = len(intent["phases"]) - 1
    if points[-1] == "done":
        remotejournal.close(ctx, apply_id)
        return RecoverResult("finished", apply_id, f"apply {apply_id} had finished; journal closed")
    if "compensate" in points:
        log(f"apply {apply_id} was being undone: finishing the undo")
        undo(ctx, intent, entries, abandon_moved=True)
        return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")
    # what landed is read from the ledger: our tag objects may equal another apply's
    view = ledgerview.read_view(git, rem, intent["ledger_before"])
    final_landed = _last_committing(intent) in view.phases_of(apply_id)
    if final_landed:
        log(f"apply {apply_id} committed before it stopped: finishing it")
        journal.write("project", phase=last_phase, recover=True)
        project = [k for p in intent["phases"] for k in p["kv"] if k["phase"] == "project"]
        # A tag of ours moved again since (recover ran late): its environment key follows that move, not us.
        ours = view.moves_of(apply_id)
        moved = {ref for ref, m in ours.items() if view.refs.get(ref, (None, None))[0] != m["after"]}
        if moved:
            log(f"recover: {len(moved)} tag(s) were moved again since; their environment keys are left as they are")
            project = not_addressed_by(project, moved)
        # A key no tag of this apply moved (a KV-only repair, new metadata) is checked by its tag
        # still being at the commit its metadata names, and by its value: holding neither our old
        # nor our new value and metadata, someone else wrote it since.
        loose = not_addressed_by(project, ours)
        if loose:
            at = {id(k) for k in loose if _tag_commit(view.refs, k) == k["metadata"].get("commit")}
            kept = {id(k) for k in untouched_since(ctx, [k for k in loose if id(k) in at])}
            others = {id(k) for k in loose} - kept
            if others:
                log(
                    f"recover: {len(others)} key(s) were changed by someone else since (value or tag); they are left as they are"
                )
                project = [k for k in project if id(k) not in others]
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
        remotejournal.close(ctx, apply_id)
        return RecoverResult("finished", apply_id, f"apply {apply_id} finished: everything is in its new state")
    log(f"apply {apply_id} had not committed: undoing what it wrote")
    undo(ctx, intent, entries, abandon_moved=True)
    return RecoverResult("undone", apply_id, f"apply {apply_id} undone: everything is back as before")


def _tag_commit(refs: Mapping[str, tuple[str, str]], item: Mapping[str, Any]) -> str | None:
    """The commit the environment tag of a KV item is at on the remote (None: no such tag)."""
    return refs.get(f"refs/tags/components/{item['component']}/{item['slot']}", (None, None))[1]


def _last_committing(intent: Mapping[str, Any]) -> int:
    """The last phase that pushes (tags, keys or the plan's marks: run_phases' rule)."""
    phases = intent["phases"]
    last = len(phases) - 1
    pushes = [i for i, p in enumerate(phases) if p["tags"] or p["kv"] or (i == last and intent.get("marks"))]
    return pushes[-1] if pushes else -1
