"""``planner check`` (validate plans against the registry and remote tags) and ``planner graph``."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.app import app
from planner.cli.options import GraphFormat, RemoteOpt, RepoOpt, TextOrGithub
from planner.config import load_config
from planner.errors import EXIT_ERROR, Diagnostic, DiagnosticError
from planner.gitio import Remote, Repo
from planner.registry import load_registry
from planner.state import snapshot

if TYPE_CHECKING:
    from planner.lang.scope import Inputs
    from planner.steps import OrderedPlan


def _inputs(repo: Path, remote: str | None) -> Inputs:
    """What the plans are compiled against: read once for every plan of the command."""
    from planner.lang.scope import Inputs
    from planner.plan.run import LedgerHistory

    config = load_config(repo)
    if remote is not None:
        config = dataclasses.replace(config, remote=remote)  # the remote this run reads, for every stage
    registry = load_registry(repo)
    git, rem = Repo(repo), Remote(config.remote)  # the command's repository and remote
    state = snapshot(git, rem)
    return Inputs(registry, state, config, LedgerHistory(git, rem))  # ledger read only if needed


def _emit(diags: list[Diagnostic], sources: dict[str, str], fmt: str) -> None:
    for d in diags:
        if fmt == "github":
            print(d.github())
        else:
            print(d.render(sources.get(d.span.file) if d.span else None))


@app.command()
def check(
    plans: Annotated[list[Path], typer.Argument(metavar="PLAN", help="Plan files to check.")],
    fmt: Annotated[
        TextOrGithub, typer.Option("--format", help="Output format (github: workflow annotations).")
    ] = "text",
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Check plans against the registry and remote tags (read-only)."""
    from planner.fileio import read_text_file
    from planner.lang.compile import compile_file  # the compiler (lark) loads only for commands that use it

    inputs = _inputs(repo, remote)
    errors = warnings = 0
    for plan in plans:
        sources: dict[str, str] = {}
        try:
            compiled = compile_file(plan, inputs)
            diags = list(compiled.diagnostics)
            sources = {compiled.source_file: read_text_file(plan)}
        except DiagnosticError as exc:
            diags, sources = exc.diagnostics, exc.sources
        _emit(diags, sources, fmt)
        errors += sum(d.severity == "error" for d in diags)
        warnings += sum(d.severity == "warning" for d in diags)
    print(f"checked {len(plans)} plan(s): {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    if errors:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def graph(
    plan: Annotated[Path, typer.Argument(metavar="PLAN", help="The plan file.")],
    fmt: Annotated[GraphFormat, typer.Option("--format", help="Output format.")] = "text",
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Print a plan's steps in dependency order.

    Levels of steps that may run in parallel, as text, Graphviz dot or Mermaid.
    """
    from planner.graph import to_dot, to_mermaid, to_text
    from planner.lang.compile import compile_file

    compiled: OrderedPlan = compile_file(plan, _inputs(repo, remote))
    name = step_names(compiled)
    levels = [[name[i] for i in level] for level in compiled.levels]
    edges = [(name[a], name[b]) for a, b in compiled.edges]
    render: dict[str, Callable[[Any, Any], str]] = {"text": to_text, "dot": to_dot, "mermaid": to_mermaid}
    sys.stdout.write(render[fmt](levels, edges))


def step_names(compiled: OrderedPlan) -> dict[str, str]:
    """Step id -> the step in the user's words (as the dry run's step order writes it), never an
    internal id like ``verify staging#0``; a name two steps share gets a ``(2)``."""
    from planner.plan.diff import step_to_dict
    from planner.render.review import step_label

    out: dict[str, str] = {}
    used: dict[str, int] = {}
    for s in compiled.steps:
        label = step_label(step_to_dict(s, 0))
        used[label] = used.get(label, 0) + 1
        out[s.id] = label if used[label] == 1 else f"{label} ({used[label]})"
    return out


__all__ = ["check", "graph"]
