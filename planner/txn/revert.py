"""The inverse plan of a past apply, as plan text for review (``planner revert``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from planner.model import TagName


def inverse_plan(records: Sequence[Mapping[str, Any]]) -> str:
    """``records``: the ledger records of one apply (one per phase). Later phases are undone first."""
    first = records[-1] if records else {}
    apply_id = first.get("apply_id", "?")
    lines = [
        f"# Inverse of apply {apply_id} (plan {first.get('plan_name', '')!r}, id {str(first.get('plan_id', ''))[:12]}).",
        "# Review it, then `planner plan` and `planner apply` it like any plan.",
        f'plan "revert-{apply_id}" {{',
        f'  description "Revert apply {apply_id} of {first.get("plan_name", "")}"',
        "",
    ]
    for rec in sorted(records, key=lambda r: -int(r.get("phase", 1))):
        for ch in rec.get("refs", []):
            tag = TagName.try_parse(ch["ref"])
            if tag is None:
                continue
            if tag.is_version:
                lines.append(f"  # {tag} was created; version tags are immutable and are kept")
            elif ch.get("before_version"):
                lines.append(f"  rollback {tag.component} in {tag.slot} to {ch['before_version']}")
            elif ch.get("before_commit"):
                lines.append(
                    f"  # {tag.component} in {tag.slot} pointed at commit {ch['before_commit']} (no version tag):"
                    " create a version there to roll back to it"
                )
            else:
                lines.append(
                    f"  # {tag.component} in {tag.slot} did not exist before; remove the tag by hand if needed"
                )
    lines.append("}")
    return "\n".join(lines) + "\n"
