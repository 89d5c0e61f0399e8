"""``reject C VERSION`` and ``override C VERSION`` statements -> plan steps (policy marks).

They move no tag and write no key: they become step dicts of kind ``reject``/``override`` in the
ComputedPlan (so they are part of the plan id and the reviewed artifact), and apply records them
in the ledger (``planner.policy.plan_marks``). A plan without them is left byte-for-byte unchanged.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import Any

from planner.artifact import with_id
from planner.changes import ComputedPlan, Notice
from planner.errors import DiagnosticError, DiagnosticSink
from planner.lang import ast
from planner.lang.build import build
from planner.lang.parser import parse
from planner.model import ComponentRef, ModelError, Version
from planner.registry import Registry
from planner.state import RepoState


def mark_steps(text: str, filename: str, *, registry: Registry, state: RepoState) -> list[dict[str, Any]]:
    """The reject/override statements of a plan source as step dicts; positioned errors."""
    plan = build(parse(text, filename), filename)
    stmts = [s for s in plan.statements if isinstance(s, ast.Reject | ast.Override)]
    if not stmts:
        return []
    universe = sorted(set(registry.components) | set(state.components))
    sink = DiagnosticSink()
    out: dict[str, dict[str, Any]] = {}
    for s in stmts:
        kind = "reject" if isinstance(s, ast.Reject) else "override"
        try:
            version = Version.parse(s.version.text)
        except ModelError as exc:
            sink.error(exc.message, s.version.span)
            continue
        for w in s.components:
            for ref in _expand(w.text, universe):
                cs = state.component(ref)
                if cs is None or version not in cs.versions:
                    sink.error(f"{kind} {ref} {version}: that version has no tag on the remote", s.version.span)
                    continue
                sid = f"{kind} {ref}@{version}"
                out.setdefault(
                    sid,
                    {
                        "id": sid,
                        "kind": kind,
                        "component": str(ref),
                        "version": str(version),
                        "reason": s.reason.text if s.reason else "",
                        "span": str(s.span),
                        "level": 0,
                    },
                )
    if sink.has_errors:
        raise DiagnosticError(sink.items, {filename: text})
    return list(out.values())


def _expand(text: str, universe: list[ComponentRef]) -> list[ComponentRef]:
    # The resolver already reported unknown or ambiguous names; here we only map what resolves.
    if any(c in text for c in "*?["):
        return [r for r in universe if fnmatch.fnmatchcase(str(r) if "/" in text else r.name, text)]
    if "/" in text:
        return [r for r in universe if str(r) == text]
    hits = [r for r in universe if r.name == text]
    return hits if len(hits) == 1 else []


def with_marks(plan: ComputedPlan, marks: list[dict[str, Any]]) -> ComputedPlan:
    """Add the marks to the plan's steps (and a notice each, for reviewers); recompute the id."""
    if not marks:
        return plan
    notices = tuple(
        Notice(
            "warning",
            f"{m['kind']}s {m['component']} {m['version']}" + (f": {m['reason']}" if m["reason"] else ""),
            m["component"],
        )
        for m in marks
    )
    return with_id(dataclasses.replace(plan, steps=plan.steps + tuple(marks), notices=plan.notices + notices))
