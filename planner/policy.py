"""Release policies checked on a computed plan, when planning AND again when applying.

Each rule is a small pure function ``rule(PolicyInput) -> list[Violation]`` over the plan, the
remote state, the ledger history and the time; ``evaluate`` runs them all. The I/O (snapshot,
ledger, clock) happens in the callers (``planner.plan.run``, ``planner.cli.apply``); ``[policy]``
and the clock are read by ``planner.policy_settings``.

Rules (configured in planner.toml ``[policy]``, see docs/ci.md):

- ``environment-order`` (promotion order): a version may enter an environment only if the
  previous environment (``order``, default the top-level ``environments``) holds it now, after
  this plan, or held it according to the ledger. "Previous" is the nearest earlier environment the
  component has a tag in, so a component that skips a stage is not blocked by it. Rollbacks are exempt.
- ``protected``: environments that accept changes only from ``apply --plan FILE --require-id ID``.
- ``freeze``: time windows (with a time zone) in which an environment accepts no change.
- ``rejected``: a version rejected (``reject C VERSION``, or rolled back away from) may not be
  moved into an environment again unless the plan says ``override C VERSION``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from planner.config import PlannerConfig
from planner.errors import EXIT_POLICY, Diagnostic, PlannerError, Span
from planner.model import TagName
from planner.plan.changes import ComputedPlan, TagChange
from planner.policy_settings import NOW_ENV, Freeze, PolicySettings, load_settings, now
from planner.steps import MARKS

if TYPE_CHECKING:  # a type only: the remote state module reaches planner.txn (planner.exact)
    from planner.state import RepoState


class PolicyError(PlannerError):
    exit_code = EXIT_POLICY


@dataclass(frozen=True)
class Violation:
    policy: str
    step_id: str
    message: str
    where: str | None = None  # "file:line:col" of the statement, when known

    def diagnostic(self) -> Diagnostic:
        return Diagnostic("error", f"blocked by policy '{self.policy}': {self.message}", _span(self.where))


@dataclass(frozen=True)
class Invocation:
    """How ``apply`` was called: a saved, reviewed plan pinned by its id, or not."""

    saved_plan: bool
    require_id: bool


@dataclass(frozen=True)
class PolicyInput:
    plan: ComputedPlan
    state: RepoState
    history: Sequence[Mapping[str, Any]]  # ledger records, newest first
    now: datetime
    settings: PolicySettings
    invocation: Invocation | None = None  # None: planning, not applying
    stage: str = "plan"  # "plan" | "apply", for messages


# ---- helpers (pure) ---------------------------------------------------------------------------


def _span(where: str | None) -> Span | None:
    if not where:
        return None
    file, _, rest = where.rpartition(":")
    file, _, line = file.rpartition(":")
    if not (file and line.isdigit() and rest.isdigit()):
        return None
    return Span(file, int(line), int(rest))


@dataclass(frozen=True)
class _Move:
    change: TagChange
    tag: TagName
    kind: str
    where: str | None

    @property
    def env(self) -> str:
        return str(self.tag.slot)

    @property
    def component(self) -> str:
        return str(self.tag.component)


def _steps(plan: ComputedPlan) -> dict[str, Mapping[str, Any]]:
    return {str(s.get("id")): s for s in plan.steps}


def env_moves(plan: ComputedPlan) -> list[_Move]:
    """Every environment tag this plan changes (not no-ops), with its step kind and position."""
    steps = _steps(plan)
    out = []
    for t in plan.tags:
        tag = TagName.try_parse(t.ref)
        if tag is None or tag.is_version or t.action == "noop":
            continue
        step = steps.get(t.step_id, {})
        span = step.get("span")
        out.append(_Move(t, tag, str(step.get("kind", "")), str(span) if span else None))
    return out


def held_in_history(history: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(component, env, commit) for every env tag value the ledger records (before or after)."""
    out: set[tuple[str, str, str]] = set()
    for rec in history:
        for ch in rec.get("refs", []):
            tag = TagName.try_parse(str(ch.get("ref", "")))
            if tag is None or tag.is_version:
                continue
            for key in ("before_commit", "after_commit"):
                if ch.get(key):
                    out.add((str(tag.component), str(tag.slot), str(ch[key])))
    return out


def rejected_versions(history: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """{(component, version): reason} still rejected after replaying the ledger's marks, oldest first."""
    out: dict[tuple[str, str], str] = {}
    for rec in reversed(history):
        for m in rec.get("marks", []):
            key = (str(m.get("component")), str(m.get("version")))
            if m.get("kind") == "reject":
                why = m.get("reason") or "rejected"
                out[key] = f"{why} (apply {rec.get('apply_id', '?')}, {rec.get('time', '?')})"
            elif m.get("kind") == "override":
                out.pop(key, None)
    return out


def plan_marks(plan: ComputedPlan) -> list[dict[str, Any]]:
    """The reject/override marks this plan records in the ledger when applied.

    Explicit ``reject``/``override`` statements, plus one ``reject`` per rollback that moves an
    environment away from a version (the version it left is rejected).
    """
    out: list[dict[str, Any]] = []
    for s in plan.steps:
        if s.get("kind") in MARKS:
            out.append(
                {
                    "kind": s["kind"],
                    "component": s["component"],
                    "version": s["version"],
                    "reason": s.get("reason") or "",
                    "step_id": s["id"],
                }
            )
    for m in env_moves(plan):
        old, new = m.change.old_version, m.change.new_version
        if m.kind == "rollback" and old and old != new:
            out.append(
                {
                    "kind": "reject",
                    "component": m.component,
                    "version": old,
                    "reason": f"rolled back in {m.env} to {new or m.change.new_commit[:12]} by plan {plan.name!r}",
                    "step_id": m.change.step_id,
                }
            )
    return out


# ---- the rules (pure) -------------------------------------------------------------------------


def environment_order(
    plan: ComputedPlan,
    state: RepoState,
    environments: Sequence[str] | None,
    history: Sequence[Mapping[str, Any]] = (),
) -> list[Violation]:
    """Moves into env N whose commit the previous env does not hold (now, after this plan, or per the ledger)."""
    if not environments:
        return []
    after: dict[tuple[str, str], str] = {}
    for ref, cs in state.components.items():
        for env, ptr in cs.envs.items():
            after[(str(ref), env)] = ptr.tag.commit
    moves = env_moves(plan)
    for m in moves:
        after[(m.component, m.env)] = m.change.new_commit
    held = held_in_history(history)
    lived = {(c, e) for c, e, _ in held}
    out: list[Violation] = []
    for m in moves:
        if m.kind == "rollback" or m.env not in environments:
            continue
        # The nearest earlier environment this component lives in (has a tag, now or after the
        # plan, or had one per the ledger); a component never deployed to an earlier stage is not held back.
        earlier = [
            e
            for e in environments[: environments.index(m.env)]
            if (m.component, e) in after or (m.component, e) in lived
        ]
        if not earlier:
            continue
        prev = earlier[-1]
        commit = m.change.new_commit
        if after.get((m.component, prev)) == commit or (m.component, prev, commit) in held:
            continue
        what = m.change.new_version or commit[:12]
        out.append(
            Violation(
                "environment-order",
                m.change.step_id,
                f"{m.component}: {what} goes to {m.env} but {prev} does not hold it and never held it"
                f" according to the ledger (order: {' -> '.join(environments)})",
                m.where,
            )
        )
    return out


def promotion_order(inp: PolicyInput) -> list[Violation]:
    return environment_order(inp.plan, inp.state, inp.settings.order, inp.history)


def protected(inp: PolicyInput) -> list[Violation]:
    """Protected envs change only through ``apply --plan FILE --require-id ID`` (a reviewed artifact)."""
    inv = inp.invocation
    if inv is None or not inp.settings.protected or (inv.saved_plan and inv.require_id):
        return []
    out = []
    seen: set[str] = set()
    for m in env_moves(inp.plan):
        if m.env in inp.settings.protected and m.change.step_id not in seen:
            seen.add(m.change.step_id)
            how = "a saved plan without --require-id" if inv.saved_plan else "a plan file applied directly"
            out.append(
                Violation(
                    "protected",
                    m.change.step_id,
                    f"{m.env} is protected: it accepts only `planner apply --plan FILE --require-id ID`"
                    f" (this was {how}); {m.component} was not moved",
                    m.where,
                )
            )
    return out


def freeze(inp: PolicyInput) -> list[Violation]:
    """No change to an environment while one of its freeze windows covers ``now``."""
    out = []
    active = [f for f in inp.settings.freezes if f.covers(inp.now)]
    if not active:
        return []
    envs_with_kv = {k.namespace: k.step_id for k in inp.plan.kv if not k.unchanged}
    touched: dict[str, tuple[str, str | None]] = {}
    for m in env_moves(inp.plan):
        touched.setdefault(m.env, (m.change.step_id, m.where))
    steps = _steps(inp.plan)
    for env, sid in envs_with_kv.items():
        span = steps.get(sid, {}).get("span")
        touched.setdefault(env, (sid, str(span) if span else None))
    for f in active:
        if f.env not in touched:
            continue
        sid, where = touched[f.env]
        why = f" ({f.reason})" if f.reason else ""
        out.append(
            Violation(
                "freeze",
                sid,
                f"{f.env} is frozen from {f.start:%Y-%m-%d %H:%M} to {f.end:%Y-%m-%d %H:%M} {f.tz}{why};"
                f" now is {inp.now.astimezone(ZoneInfo(f.tz)):%Y-%m-%d %H:%M} {f.tz}",
                where,
            )
        )
    return out


def rejected(inp: PolicyInput) -> list[Violation]:
    """A rejected version may not move into an environment again without ``override C VERSION``."""
    bad = rejected_versions(inp.history)
    steps = inp.plan.steps
    for s in steps:  # this plan's own rejections count too
        if s.get("kind") == "reject":
            bad[(str(s["component"]), str(s["version"]))] = f"rejected by this plan at {s.get('span', '?')}"
    for s in steps:
        if s.get("kind") == "override":
            bad.pop((str(s["component"]), str(s["version"])), None)
    out = []
    for m in env_moves(inp.plan):
        version = m.change.new_version
        if version is None or (m.component, version) not in bad:
            continue
        out.append(
            Violation(
                "rejected",
                m.change.step_id,
                f"{m.component} {version} was rejected: {bad[(m.component, version)]}; add"
                f" `override {m.component} {version}` to the plan to promote it again",
                m.where,
            )
        )
    return out


RULES: tuple[Callable[[PolicyInput], list[Violation]], ...] = (promotion_order, protected, freeze, rejected)


def evaluate(inp: PolicyInput) -> list[Violation]:
    """Every violation of every rule, in plan order within each rule."""
    return [v for rule in RULES for v in rule(inp)]


def raise_if_blocked(violations: Sequence[Violation], *, stage: str) -> None:
    """Exit 3 with one positioned diagnostic per violation (which rule, which statement, why)."""
    if not violations:
        return
    rules = ", ".join(sorted({v.policy for v in violations}))
    after = "nothing was applied" if stage == "apply" else "no plan.json written"
    raise PolicyError(
        f"plan blocked by policy ({len(violations)} violation(s) of {rules}); {after}",
        diagnostics=[v.diagnostic() for v in violations],
    )


def needs_history(plan: ComputedPlan, state: RepoState) -> bool:
    """The ledger is read only when there is one and the plan moves an environment."""
    return state.ledger is not None and bool(env_moves(plan))


def check(
    plan: ComputedPlan,
    *,
    state: RepoState,
    config: PlannerConfig,
    history: Callable[[], Sequence[Mapping[str, Any]]],
    invocation: Invocation | None = None,
    stage: str = "plan",
    clock: Callable[[], datetime] = now,
) -> list[Violation]:
    """Load settings, read the ledger if needed (``history`` is called at most once), evaluate."""
    settings = load_settings(config)
    records = history() if needs_history(plan, state) else []
    return evaluate(PolicyInput(plan, state, records, clock(), settings, invocation, stage))


__all__ = [
    "NOW_ENV",
    "Freeze",
    "Invocation",
    "PolicyError",
    "PolicyInput",
    "PolicySettings",
    "Violation",
    "check",
    "environment_order",
    "evaluate",
    "freeze",
    "load_settings",
    "now",
    "plan_marks",
    "promotion_order",
    "protected",
    "raise_if_blocked",
    "rejected",
    "rejected_versions",
]
