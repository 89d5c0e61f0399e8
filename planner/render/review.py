"""What a reviewer must see first, shared by the text and markdown renderers.

Risk order: protected environments (``[policy] protected``) and the last environment of the
promotion order come first, then the rest from the end of the promotion order backwards, then
environments the order does not name, then new version tags (which change no environment).
Identical changes (same environment, same old -> new) are grouped so 2,000 staging moves are one
line, and a single production move among them is listed on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.model import TagName
from planner.plan.changes import ComputedPlan, TagChange
from planner.render.common import component_of, short, tag_line

VERSIONS = ""  # the pseudo-environment of version tags (``create``)


class PolicyResult(Protocol):
    """planner.policy.Violation, without importing the policy engine into the renderers."""

    @property
    def policy(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class RenderContext:
    """Project settings the renderers need: which environments are risky, and policy results."""

    protected: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()  # promotion order, first to last
    violations: tuple[PolicyResult, ...] = ()

    def risky(self, env: str) -> bool:
        return env in self.protected or self.is_last(env)

    def label(self, env: str) -> str:
        if env == VERSIONS:
            return "new versions"
        marks = [m for m, on in (("protected", env in self.protected), ("last stage", self.is_last(env))) if on]
        return f"{env} ({', '.join(marks)})" if marks else env

    def is_last(self, env: str) -> bool:
        return bool(self.order) and env == self.order[-1]


def env_of(t: TagChange) -> str:
    """The environment a tag change touches; VERSIONS for a version tag."""
    tag = TagName.try_parse(t.ref)
    if tag is None:
        return t.ref
    return VERSIONS if tag.is_version else str(tag.slot)


def env_rank(ctx: RenderContext, env: str) -> tuple[int, int, str]:
    if env == VERSIONS:
        return (3, 0, "")
    pos = ctx.order.index(env) if env in ctx.order else -1
    if ctx.risky(env):
        return (0, -pos, env)
    return (1, -pos, env) if pos >= 0 else (2, 0, env)


@dataclass(frozen=True)
class EnvRow:
    env: str
    creates: int
    moves: int
    in_place: int
    kv_writes: int
    kv_unchanged: int
    verifies: int


def env_rows(plan: ComputedPlan, ctx: RenderContext) -> list[EnvRow]:
    """One row per environment the plan touches, in risk order."""
    by_env: dict[str, list[int]] = {}
    for t in plan.tags:
        row = by_env.setdefault(env_of(t), [0] * 6)
        row[{"create": 0, "move": 1}.get(t.action, 2)] += 1
    for k in plan.kv:
        by_env.setdefault(k.namespace, [0] * 6)[3 if not k.unchanged else 4] += 1
    for v in plan.verifies:
        by_env.setdefault(v.env, [0] * 6)[5] += 1
    envs = sorted((e for e in by_env if any(by_env[e])), key=lambda e: env_rank(ctx, e))
    return [EnvRow(e, *by_env[e]) for e in envs]


@dataclass
class Group:
    """Changes with the same wording but the component: ``staging v1.0.0 -> v1.1.0``."""

    env: str
    what: str
    action: str
    items: list[tuple[str, str]] = field(default_factory=list)  # (component, its own tag line)

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.items]

    def head(self) -> str:
        n = len(self.items)
        return f"{n} component{'s' if n != 1 else ''}: {self.what}"


def _what(t: TagChange) -> str:
    line = tag_line(t)
    if t.action == "create":  # the commit differs per component; the version is what groups
        return f"create {t.new_version or short(t.new_commit)}"
    return line.replace(": ", " ", 1) if env_of(t) != VERSIONS else line


def groups(plan: ComputedPlan, ctx: RenderContext, *, include_noop: bool = True) -> list[Group]:
    """Tag changes grouped by (environment, wording), environments in risk order, moves before
    creates before in-place entries within one environment, bigger groups first."""
    found: dict[tuple[str, str], Group] = {}
    for t in plan.tags:
        if t.action == "noop" and not include_noop:
            continue
        key = (env_of(t), _what(t))
        found.setdefault(key, Group(key[0], key[1], t.action)).items.append((component_of(t), tag_line(t)))
    action_rank = {"move": 0, "create": 1, "noop": 2}
    return sorted(
        found.values(),
        key=lambda g: (env_rank(ctx, g.env), action_rank.get(g.action, 3), -len(g.names), g.what),
    )


def step_label(step: dict[str, Any]) -> str:
    """A step in the user's words (``move prompts/extraction in staging``), never its internal id."""
    kind = str(step.get("kind"))
    comp = str(step.get("component", ""))
    if kind == "create":
        return f"create {comp} {step.get('version')}"
    if kind == "verify":
        return f"verify {step.get('env')}: GET {step.get('url')}"
    if "env" in step:
        return f"{kind} {comp} in {step.get('env')}"
    return f"{kind} {comp} {step.get('version', '')}".rstrip()


def level_lines(plan: ComputedPlan, *, max_names: int = 8) -> list[str]:
    """Each parallel level as one line: its steps by name when few, else counted by kind."""
    by_id = {str(s.get("id")): s for s in plan.steps}
    out = []
    for level in plan.levels:
        steps = [by_id[sid] for sid in level if sid in by_id]
        if len(steps) <= max_names:
            out.append("; ".join(step_label(s) for s in steps))
        else:
            kinds: dict[str, int] = {}
            for s in steps:
                kinds[str(s.get("kind"))] = kinds.get(str(s.get("kind")), 0) + 1
            out.append(", ".join(f"{n} {k}" for k, n in kinds.items()))
    return out


def violation_lines(violations: Sequence[PolicyResult], *, max_each: int = 20) -> list[tuple[str, str]]:
    """(policy, message) pairs; beyond ``max_each`` per policy, one line counts the rest, so a
    policy is never dropped however many steps it blocks."""
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for v in violations:
        seen[v.policy] = seen.get(v.policy, 0) + 1
        if seen[v.policy] <= max_each:
            out.append((v.policy, v.message))
    for pol, n in seen.items():
        if n > max_each:
            out.append((pol, f"... and {n - max_each} more steps blocked by this policy"))
    return out
