"""JSON rendering: exactly the plan artifact (plan.json), for machines. Goes to stdout alone."""

from __future__ import annotations

from planner.artifact import dump
from planner.plan.changes import ComputedPlan


def render_json(plan: ComputedPlan) -> str:
    return dump(plan)
