"""Compensation: move this apply's tags back and remove its ledger records in one push
(planner.txn.undopush), then restore only the KV keys it touched, keeping version keys another
landed apply needs (planner.txn.versionkeys)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from planner.content import sha256_hex
from planner.model import TagName
from planner.state import read_remote_refs
from planner.txn import remotejournal, versionkeys
from planner.txn.commit import journal_push
from planner.txn.context import Context, by_namespace, store_for
from planner.txn.kvwrites import restore_kv, write_kv
from planner.txn.push import OnStart
from planner.txn.undopush import move_back


def touched_keys(intent: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """KV keys this apply may have written: prepare keys of phases that reached ``prepare``, env
    keys of phases that reached ``project``. Only these are restored, so an undo never clobbers
    keys another apply wrote while ours had not touched them (e.g. after a lost push race).
    A journal adopted from the remote does not know how far the lost machine got: every key
    counts, and ``undo`` keeps only those that hold this apply's new value (``_written``)."""
    if any(e["point"] == "adopt" for e in entries):
        return [k for p in intent["phases"] for k in p["kv"]]
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
    if ctx.journal.remote_oid is not None:  # so that another machine finishes the undo, not a roll-forward
        remotejournal.republish(ctx, intent["apply_id"])
    back = move_back(
        ctx.repo,
        ctx.remote,
        intent,
        ctx.progress,
        abandon_moved=abandon_moved,
        on_start=OnStart(ctx.journal.current, lambda pid: journal_push(ctx, pid, None)),
    )
    ctx.pushes += back.pushes
    if back.pushes:
        ctx.journal.crash_point("undo-pushed")
    items = not_addressed_by(touched_keys(intent, entries), back.abandoned)
    if ctx.journal.adopted():
        items = _written(ctx, items)
        items = not_addressed_by(items, not_back(intent, read_remote_refs(ctx.repo, ctx.remote)))
    _restore_touched(ctx, intent, items)
    ctx.journal.write("compensated")
    remotejournal.close(ctx, intent["apply_id"])


def _written(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keys that hold this apply's new value and metadata now: only those can be ours to undo;
    a key holding anything else was never written by us or was written since (the same bytes
    under someone else's metadata, too)."""
    return [i for i, now in _held_now(ctx, items) if now == (i["new_sha256"], i["metadata"])]


def untouched_since(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keys that hold this apply's old or new value and metadata now; a key holding anything
    else was written since by someone else, and a late roll-forward must leave it. (Someone
    writing exactly our old value and metadata back cannot be told apart.)"""
    out = []
    for i, now in _held_now(ctx, items):
        old = None if i["old"] is None else (i["old_sha256"], i["old"]["metadata"])
        if now in (old, (i["new_sha256"], i["metadata"])):
            out.append(i)
    return out


def _held_now(
    ctx: Context, items: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], tuple[str, dict[str, Any]] | None]]:
    """Each item with what its key holds now, ``(sha256, metadata)`` or None: one read per namespace."""
    out: list[tuple[dict[str, Any], tuple[str, dict[str, Any]] | None]] = []
    for ns, group in sorted(by_namespace(items).items()):
        got = store_for(ctx, ns).get_many([i["key"] for i in group])
        for i in group:
            entry = got.get(i["key"])
            out.append((i, None if entry is None else (sha256_hex(entry.value), dict(entry.metadata))))
    return out


def not_back(intent: Mapping[str, Any], refs: Mapping[str, tuple[str, str]]) -> set[str]:
    """The intent's tags that are not at their old value on the remote (``refs``): moved by
    someone else since, so their environment keys are theirs too."""
    out = set()
    for p in intent["phases"]:
        for t in p["tags"]:
            if refs.get(t["ref"], (None, None))[0] != t["old"]:
                out.add(t["ref"])
    return out


def not_addressed_by(items: list[dict[str, Any]], refs: Iterable[str]) -> list[dict[str, Any]]:
    """``items`` without the environment keys of ``refs`` (tag refs): one set, not a scan per item."""
    slots = {(str(t.component), str(t.slot)) for t in map(TagName.try_parse, refs) if t is not None}
    return [i for i in items if (i["component"], i["slot"]) not in slots]


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
