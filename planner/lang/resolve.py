"""Semantic checks: AST + ``Inputs`` (registry, remote state, config, ledger) -> steps, ordering
edges, diagnostics.

A list of passes over one ``Scope``, run in order (as sqlglot's optimizer lists its rules); each
pass is a function in ``planner.lang.passes``, reads what earlier passes left in the scope and
adds its own results. Every error in a file is collected in one run (the scope's DiagnosticSink).
Pure except for resolving the plan's git refs, which is ONE batched ``git cat-file --batch-check``
through an injectable ``RefResolver``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planner.errors import Diagnostic
from planner.lang import ast
from planner.lang.passes import creates, envs, labels, marks, moves, names, order, verifies
from planner.lang.scope import Inputs, Scope
from planner.steps import Mark, Step

Pass = Callable[[Scope], None]

PASSES: tuple[Pass, ...] = (
    names.load_universe,  # the known components: registry + remote tags
    envs.declare_envs,  # `create environment`: which unknown environments the plan may name
    labels.collect_labels,
    names.expand_components,  # every statement's component words
    creates.resolve_creates,  # needs nothing but names; resolves every REF in one batch
    moves.resolve_moves,  # promote VERSION / rollback: needs the created versions
    moves.resolve_copies,  # promote from: needs the moves into the source env
    verifies.resolve_verifies,
    labels.resolve_after,
    order.order_edges,  # planner.graph.ORDER_RULES over the steps above
    marks.resolve_marks,  # reject / override: not ordered
    envs.report_new_envs,  # needs every move
)


@dataclass(frozen=True)
class Resolved:
    steps: tuple[Step, ...]  # in statement order (graph.order_steps orders them)
    edges: tuple[tuple[str, str], ...]  # (before, after)
    diagnostics: tuple[Diagnostic, ...]
    marks: tuple[Mark, ...] = ()  # reject/override, in statement order; not ordered (no edges)
    new_envs: tuple[str, ...] = ()  # `create environment` declarations that this plan moves into


def resolve(plan: ast.Plan, inputs: Inputs) -> Resolved:
    """Check ``plan`` and produce its steps and ordering edges; errors are in ``diagnostics``."""
    ctx = Scope(plan, inputs)
    for run in PASSES:
        run(ctx)
    return Resolved(tuple(ctx.steps), ctx.edges, tuple(ctx.sink.items), ctx.marks, ctx.created_envs)
