"""``reject`` / ``override``: marks on versions, recorded when the plan is applied (never ordered)."""

from __future__ import annotations

from planner.lang import ast
from planner.lang.passes.names import version
from planner.lang.scope import Scope
from planner.steps import MARKS, Mark


def resolve_marks(ctx: Scope) -> None:
    """Pass: marks on versions tagged on the remote, in statement order (the first of a repeat wins)."""
    out: dict[str, Mark] = {}
    for i, s in enumerate(ctx.stmts):
        if not isinstance(s, ast.MarkStatement):
            continue
        v = version(ctx, s.version)
        if v is None:
            continue
        cls = MARKS[s.kind]  # the step of the statement's kind (planner.steps)
        reason = s.reason.text if s.reason else ""
        for comp, _ in ctx.comps[i]:
            mark = cls(comp, v, reason, s.span)
            cs = ctx.state.component(comp)
            if cs is None or v not in cs.versions:
                ctx.sink.error(f"{mark.kind} {comp} {v}: that version has no tag on the remote", s.version.span)
                continue
            out.setdefault(mark.id, mark)
    ctx.marks = tuple(out.values())
