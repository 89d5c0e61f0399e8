"""Step ordering: the rules that make edges (``ORDER_RULES``) and the ONLY module that imports networkx.

Nodes are step ids (plain strings); payloads stay outside the graph. An edge ``(a, b)`` means
"a runs before b". Levels are ``topological_generations`` with the ids of each level sorted, so
identical input always gives identical output (reviewers diff these).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from planner.errors import PlannerError
from planner.model import ComponentRef, Version
from planner.steps import MoveEnv, Verify

Edge = tuple[str, str]


@dataclass(frozen=True)
class OrderFacts:
    """What the ordering rules read: the resolved steps, keyed as the rules look them up."""

    creates: Mapping[tuple[ComponentRef, Version], str]  # version created by this plan -> step id
    moves: Mapping[tuple[ComponentRef, str], MoveEnv]  # (component, env) -> its one move
    verifies: Sequence[Verify]
    uses: Mapping[ComponentRef, Sequence[ComponentRef]]  # moved component -> what it uses (sorted)
    after: Sequence[tuple[Sequence[str], Sequence[str]]]  # `after`: every step of the first first


# The ordering rules (docs/language.md, "Ordering"), in the order the documentation lists them.
def created_first(f: OrderFacts) -> Iterator[Edge]:
    """A version is created before anything moves to it."""
    for m in f.moves.values():
        if m.kind != "copy" and m.version is not None and (m.component, m.version) in f.creates:
            yield (f.creates[(m.component, m.version)], m.id)


def source_filled_first(f: OrderFacts) -> Iterator[Edge]:
    """An environment is filled before something is copied from it."""
    for m in f.moves.values():
        src = f.moves.get((m.component, m.from_env)) if m.kind == "copy" and m.from_env else None
        if src is not None:
            yield (src.id, m.id)


def uses_first(f: OrderFacts) -> Iterator[Edge]:
    """Promoted after what it uses (same environment); rolled back before it."""
    for a in f.moves.values():
        for used in f.uses.get(a.component, ()):
            other = f.moves.get((used, a.env))
            if other is not None:
                yield (a.id, other.id) if a.kind == "rollback" else (other.id, a.id)


def verify_last(f: OrderFacts) -> Iterator[Edge]:
    """``verify ENV`` runs after every move into ENV."""
    by_env: dict[str, list[MoveEnv]] = {}
    for m in f.moves.values():
        by_env.setdefault(m.env, []).append(m)
    for v in f.verifies:
        yield from ((m.id, v.id) for m in by_env.get(v.env, ()))


def stated_after(f: OrderFacts) -> Iterator[Edge]:
    """``after LABEL`` adds the stated edges."""
    for before, after in f.after:
        yield from ((a, b) for a in before for b in after)


ORDER_RULES: tuple[Callable[[OrderFacts], Iterable[Edge]], ...] = (
    created_first,
    source_filled_first,
    uses_first,
    verify_last,
    stated_after,
)


def ordering_edges(facts: OrderFacts) -> tuple[Edge, ...]:
    """Every rule's edges, each once (a rule is a function of the facts; add one to ORDER_RULES)."""
    return tuple(dict.fromkeys(edge for rule in ORDER_RULES for edge in rule(facts)))


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
