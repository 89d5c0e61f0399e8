"""Release policies checked on a computed plan before it may be applied. Pure functions.

Environment order: with ``environments = ["dev", "staging", "production"]`` in planner.toml, a
promotion into an environment must bring a version that the previous environment holds, now
or after this plan. "Previous" is the nearest earlier environment the component has a tag in, so a
component that skips a stage entirely is not blocked by it. Rollbacks are exempt (they restore
what was there before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.changes import ComputedPlan
from planner.errors import EXIT_POLICY, PlannerError
from planner.model import TagName
from planner.state import RepoState


class PolicyError(PlannerError):
    exit_code = EXIT_POLICY


@dataclass(frozen=True)
class Violation:
    policy: str
    step_id: str
    message: str


def environment_order(plan: ComputedPlan, state: RepoState, environments: Sequence[str] | None) -> list[Violation]:
    """Moves into env N (N > 0) whose commit env N-1 does not hold, after this plan's own moves."""
    if not environments:
        return []
    kinds: Mapping[str, str] = {str(s.get("id")): str(s.get("kind")) for s in plan.steps}
    # Where every (component, env) points once this plan is applied.
    after: dict[tuple[str, str], str] = {}
    for ref, cs in state.components.items():
        for env, ptr in cs.envs.items():
            after[(str(ref), env)] = ptr.tag.commit
    moves: list[tuple[str, str, str, str | None, str]] = []
    for t in plan.tags:
        tag = TagName.try_parse(t.ref)
        if tag is None or tag.is_version:
            continue
        env = str(tag.slot)
        after[(str(tag.component), env)] = t.new_commit
        if t.action != "noop" and kinds.get(t.step_id) != "rollback":
            moves.append((t.step_id, str(tag.component), env, t.new_version, t.new_commit))
    out: list[Violation] = []
    for step_id, comp, env, version, commit in moves:
        if env not in environments:
            continue
        # The nearest earlier environment this component lives in (has a tag, now or after the
        # plan); a component never deployed to an earlier stage is not held back by it.
        earlier = [e for e in environments[: environments.index(env)] if (comp, e) in after]
        if not earlier:
            continue
        prev = earlier[-1]
        if after[(comp, prev)] != commit:
            what = version or commit[:12]
            out.append(
                Violation(
                    "environment-order",
                    step_id,
                    f"{comp}: {what} goes to {env} but {prev} does not hold it (order: {' -> '.join(environments)})",
                )
            )
    return out
