"""Step ordering: the ONLY module that imports networkx.

Nodes are step ids (plain strings); payloads stay outside the graph. An edge ``(a, b)`` means
"a runs before b". Levels are ``topological_generations`` with the ids of each level sorted, so
identical input always gives identical output (reviewers diff these).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from planner.errors import PlannerError


class CycleError(PlannerError):
    """The ordering edges form a cycle; ``cycle`` lists the step ids, first one repeated last."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " --> ".join(cycle))
        self.cycle = cycle


def order_steps(ids: Sequence[str], edges: Iterable[tuple[str, str]]) -> tuple[tuple[str, ...], ...]:
    """Group ``ids`` into parallel levels respecting ``edges``; raise CycleError on a cycle."""
    # Imported here: networkx costs more start-up time than most commands take to run.
    import networkx as nx  # type: ignore[import-untyped]  # no stubs in the test extras

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(edges)
    try:
        return tuple(tuple(sorted(level)) for level in nx.topological_generations(graph))
    except nx.NetworkXUnfeasible:
        raw = nx.find_cycle(graph)
        cycle = [str(a) for a, _ in raw]
        # Start at the smallest id so the same cycle always prints the same way.
        k = cycle.index(min(cycle))
        cycle = cycle[k:] + cycle[:k]
        raise CycleError([*cycle, cycle[0]]) from None
    finally:
        # A DiGraph and its cached views form a reference cycle: without this its three dicts
        # per node would wait for the cyclic GC (which planner.lang.compile pauses).
        graph.clear()


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(levels: Sequence[Sequence[str]], edges: Iterable[tuple[str, str]]) -> str:
    lines = ["digraph plan {", "  rankdir=LR;"]
    for i, level in enumerate(levels):
        lines.append(f"  subgraph level_{i} {{ rank=same; {' '.join(_dot_id(n) for n in level)} }}")
    lines.extend(f"  {_dot_id(a)} -> {_dot_id(b)};" for a, b in sorted(set(edges)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(levels: Sequence[Sequence[str]], edges: Iterable[tuple[str, str]]) -> str:
    names = {n: f"s{i}" for i, n in enumerate(n for level in levels for n in level)}

    def label(text: str) -> str:
        return text.replace('"', "#quot;")

    lines = ["flowchart LR"]
    lines.extend(f'  {names[n]}["{label(n)}"]' for level in levels for n in level)
    lines.extend(f"  {names[a]} --> {names[b]}" for a, b in sorted(set(edges)) if a in names and b in names)
    return "\n".join(lines) + "\n"


def to_text(levels: Sequence[Sequence[str]], edges: Iterable[tuple[str, str]]) -> str:
    preds: dict[str, list[str]] = {}
    for a, b in sorted(set(edges)):
        preds.setdefault(b, []).append(a)
    lines = []
    for i, level in enumerate(levels, 1):
        lines.append(f"level {i}:")
        for n in level:
            after = f"   (after {', '.join(preds[n])})" if n in preds else ""
            lines.append(f"  {n}{after}")
    return "\n".join(lines) + "\n"
