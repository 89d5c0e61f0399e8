"""The resolved steps -> ordering edges, by the rules in ``planner.graph.ORDER_RULES``."""

from __future__ import annotations

from planner.graph import OrderFacts, ordering_edges
from planner.lang.scope import Scope
from planner.model import ComponentRef


def order_edges(ctx: Scope) -> None:
    """Pass: the facts the ordering rules read, then their edges."""
    deps = ctx.inputs.registry.dependencies()
    uses: dict[ComponentRef, list[ComponentRef]] = {}  # sorted once per component, not per move
    for m in ctx.moves.values():
        if m.step.component not in uses:
            uses[m.step.component] = sorted(ctx.canon.get(u, u) for u in deps.get(m.step.component, ()))
    facts = OrderFacts(
        creates=ctx.create_ids,
        moves={key: m.step for key, m in ctx.moves.items()},
        verifies=ctx.verifies,
        uses=uses,
        after=[(ctx.stmt_steps[j], ctx.stmt_steps[i]) for j, i in ctx.after],
    )
    ctx.edges = ordering_edges(facts)
