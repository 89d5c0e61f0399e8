"""Compensation: move this apply's tags back and remove its ledger records in one push
(planner.txn.undopush), then restore only the KV keys it touched, keeping version keys another
landed apply needs (planner.txn.versionkeys)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from planner.model import TagName
from planner.state import read_remote_refs
from planner.txn import versionkeys
from planner.txn.commit import journal_push
from planner.txn.context import Context
from planner.txn.kvwrites import restore_kv, write_kv
from planner.txn.ledgerpush import last_per_phase
from planner.txn.push import OnStart
from planner.txn.undopush import move_back


def commits_from_journal(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The last attempted push (``commit`` entry) of each phase, in order."""
    return last_per_phase([e for e in entries if e["point"] == "commit"])


def touched_keys(intent: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """KV keys this apply may have written: prepare keys of phases that reached ``prepare``, env
    keys of phases that reached ``project``. Only these are restored, so an undo never clobbers
    keys another apply wrote while ours had not touched them (e.g. after a lost push race)."""
    prepared = {e["phase"] for e in entries if e["point"] == "prepare"}
    projected = {e["phase"] for e in entries if e["point"] == "project"}
    if any(e["point"] == "project" and e.get("recover") for e in entries):
        projected = set(range(len(intent["phases"])))  # recover rolled forward every phase
    out: list[dict[str, Any]] = []
    for i, p in enumerate(intent["phases"]):
        for k in p["kv"]:
            if (k["phase"] == "prepare" and i in prepared) or (k["phase"] == "project" and i in projected):
                out.append(k)
    return out


def undo(
    ctx: Context, intent: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], *, abandon_moved: bool = False
) -> None:
    """Compensate: tags back (with leases) and our ledger records removed in ONE push
    (planner.txn.undopush), then KV restored. ``abandon_moved`` (recover): tags someone else moved
    since stay theirs, and so do the environment keys they address."""
    ctx.journal.write("compensate")
    back = move_back(
        ctx.repo,
        ctx.remote,
        intent,
        commits_from_journal(entries),
        ctx.progress,
        abandon_moved=abandon_moved,
        on_start=OnStart(ctx.journal.current, lambda pid: journal_push(ctx, pid, None)),
    )
    ctx.pushes += back.pushes
    if back.pushes:
        ctx.journal.crash_point("undo-pushed")
    items = [k for k in touched_keys(intent, entries) if not _addressed_by(k, back.abandoned)]
    _restore_touched(ctx, intent, items)
    ctx.journal.write("compensated")
    ctx.journal.finish(intent["apply_id"])


def _addressed_by(item: Mapping[str, Any], refs: set[str]) -> bool:
    """Is ``item`` the environment key of one of ``refs``?"""
    for ref in refs:
        tag = TagName.try_parse(ref)
        if tag is not None and (str(tag.component), str(tag.slot)) == (item["component"], item["slot"]):
            return True
    return False


def _restore_touched(ctx: Context, intent: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
    """Restore ``items`` except version keys another landed apply needs (planner.txn.versionkeys);
    keys that became needed while we deleted them are put back."""
    gone = versionkeys.deletes(items)
    if gone:
        keep = {
            id(i) for i in versionkeys.needed(gone, read_remote_refs(ctx.repo, ctx.remote), intent["ledger_before"])
        }
        items = [i for i in items if id(i) not in keep]
    ctx.progress(f"compensate: restoring {len(items)} KV key(s)")
    restore_kv(ctx, items)
    gone = versionkeys.deletes(items)
    if gone:
        write_kv(ctx, versionkeys.needed(gone, read_remote_refs(ctx.repo, ctx.remote), intent["ledger_before"]))
