"""The commit point of one phase: tag objects and the ledger record, journaled, then ONE atomic
push (planner.txn.ledgerpush); a started push is journaled so recover can wait for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.txn import ledger, orphans
from planner.txn.context import AppliedTag, Context
from planner.txn.ledgerpush import push_with_ledger
from planner.txn.push import NewTag, OnStart, RefUpdate, write_tag_objects


def _ledger_record(intent: Mapping[str, Any], index: int, tag_objects: Mapping[str, str]) -> dict[str, Any]:
    phase = intent["phases"][index]
    return {
        "format": 1,
        "apply_id": intent["apply_id"],
        "phase": index + 1,
        "phases": len(intent["phases"]),
        "plan_id": intent["plan_id"],
        "plan_name": intent["plan_name"],
        "plan_source": intent["plan_source"],
        "plan_source_sha256": intent["plan_source_sha256"],
        "remote": intent["remote"],
        "actor": intent["actor"],
        "ci_run_url": intent["ci_run_url"],
        "time": ledger.now_iso(),
        "refs": [
            {
                "ref": t["ref"],
                "step_id": t["step_id"],
                "before": t["old"],
                "after": tag_objects[t["ref"]],
                "before_commit": t["old_commit"],
                "after_commit": t["new_commit"],
                "before_version": t["old_version"],
                "after_version": t["new_version"],
            }
            for t in phase["tags"]
        ],
        "kv": [
            {
                "namespace": k["namespace"],
                "key": k["key"],
                "before_sha256": k["old_sha256"],
                "after_sha256": k["new_sha256"],
                "component": k["component"],
                "slot": k["slot"],
            }
            for k in phase["kv"]
        ],
        "marks": list(intent.get("marks", [])) if index == len(intent["phases"]) - 1 else [],
    }


def commit_phase(ctx: Context, intent: dict[str, Any], index: int, ledger_parent: str | None) -> str:
    """Write tag objects and the ledger commit, journal them, then ONE atomic push. Returns the ledger commit."""
    phase = intent["phases"][index]
    new_tags = [NewTag(t["ref"], t["new_commit"], t["message"]) for t in phase["tags"]]
    objects = write_tag_objects(ctx.repo, new_tags)
    record = _ledger_record(intent, index, objects)
    updates = [RefUpdate(t["ref"], t["old"], objects[t["ref"]]) for t in phase["tags"]]

    def journal_commit(commit: str, parent: str | None) -> None:
        ctx.journal.write("commit", phase=index, tags=objects, ledger=commit, ledger_parent=parent)
        ctx.progress(f"commit: one atomic push of {len(updates) + 1} ref(s) (phase {index + 1})")
        ctx.pushes += 1

    ledger_commit, _parent = push_with_ledger(
        ctx.repo,
        ctx.remote,
        updates,
        record,
        ledger_parent,
        journal_commit,
        OnStart(ctx.journal.current, lambda pid: journal_push(ctx, pid, index)),
    )
    ctx.applied += [
        AppliedTag(t["ref"], t["old"], objects[t["ref"]], t["old_version"], t["new_version"]) for t in phase["tags"]
    ]
    ctx.journal.crash_point("pushed")
    ctx.journal.write("committed", phase=index, ledger=ledger_commit)
    return ledger_commit


def journal_push(ctx: Context, pid: int, phase: int | None) -> None:
    """Journal a started push (phase None: the undo's), so recover can wait for it."""
    ctx.journal.write("pushing", phase=phase, **orphans.record(pid))
