"""Labels (``name: STATEMENT``) and ``after LABEL``: explicit ordering between statements."""

from __future__ import annotations

from planner.lang.passes.names import suggest
from planner.lang.scope import Scope


def collect_labels(ctx: Scope) -> None:
    """Pass: label -> its statement; a duplicate is an error at the second."""
    for i, stmt in enumerate(ctx.stmts):
        if stmt.label is None:
            continue
        if stmt.label.text in ctx.labels:
            first = ctx.stmts[ctx.labels[stmt.label.text]].label
            where = f" (first at {first.span})" if first else ""
            ctx.sink.error(f"duplicate label '{stmt.label.text}'{where}", stmt.label.span)
        else:
            ctx.labels[stmt.label.text] = i


def resolve_after(ctx: Scope) -> None:
    """Pass: ``after L`` -> (statement of L, this statement) pairs for the ordering rules."""
    for i, s in enumerate(ctx.stmts):
        for w in s.after:
            j = ctx.labels.get(w.text)
            if j is None:
                ctx.sink.error(f"unknown label '{w.text}'{suggest(w.text, sorted(ctx.labels))}", w.span)
                continue
            if j == i:
                ctx.sink.error(f"statement '{w.text}' cannot run after itself", w.span)
                continue
            ctx.after.append((j, i))
