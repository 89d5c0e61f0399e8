"""No import circles through the language and plan stages (issue 16.4): every import of every
module, at the top or inside a function (``if TYPE_CHECKING:`` blocks excluded), read statically."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1] / "planner"
# The modules of the compile and plan stages, and the CLI (which imports every stage).
STAGES = ("planner.lang", "planner.graph", "planner.steps", "planner.policy", "planner.plan.run", "planner.demo_plan")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[str]:
    out: list[str] = []
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def import_graph() -> nx.DiGraph:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target in modules and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)  # a submodule importing its own package is not a circle
    return graph


def test_no_import_circle_through_the_plan_stages() -> None:
    graph = import_graph()
    assert graph.has_edge("planner.txn.engine", "planner.policy")  # the graph sees real imports
    assert graph.has_edge("planner.cli.demo", "planner.demo_plan")
    circles = [c for c in nx.simple_cycles(graph) if any(m.startswith(STAGES) for m in c)]
    assert circles == []


def test_the_two_known_circles_are_gone() -> None:
    graph = import_graph()
    assert not nx.has_path(graph, "planner.policy", "planner.txn")  # txn imports policy, never back
    assert not nx.has_path(graph, "planner.demo_plan", "planner.cli")  # the CLI hands the demo its run


def test_no_import_circle_anywhere() -> None:
    # Issue 16: no circles at all (state -> exact -> txn, config <-> kv.bindings are gone too).
    graph = import_graph()
    assert graph.has_edge("planner.state", "planner.exact")  # snapshot pins ambiguous env versions
    assert graph.has_edge("planner.config", "planner.kv.bindings")  # config parses [kv] at load
    assert list(nx.simple_cycles(graph)) == []
