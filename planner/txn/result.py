"""The machine-readable result of an apply (``planner apply --format json``, stdout alone)."""

from __future__ import annotations

from typing import Any

from planner.plan.changes import ComputedPlan
from planner.txn.engine import ApplyResult


def result_json(plan: ComputedPlan, result: ApplyResult) -> dict[str, Any]:
    """Keys are stable; other layers add theirs (e.g. the rebuild report) next to these."""
    return {
        "apply_id": result.apply_id,
        "plan_id": plan.plan_id,
        "plan_name": plan.name,
        "status": result.status,  # "applied" | "noop"
        "tags": [
            {"ref": t.ref, "old": t.old, "new": t.new, "old_version": t.old_version, "new_version": t.new_version}
            for t in result.tags
        ],
        "tags_changed": result.tags_changed,
        "kv_written": result.keys_written,
        "pushes": result.pushes,
        "ledger_commits": list(result.ledger_commits),
    }
