"""``planner check`` (validate plans against the registry and remote tags) and ``planner graph``."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RepoOpt
from planner.config import load_config
from planner.errors import EXIT_ERROR, Diagnostic, DiagnosticError
from planner.registry import load_registry
from planner.state import snapshot

if TYPE_CHECKING:
    from planner.lang.scope import Inputs
    from planner.steps import OrderedPlan


def _inputs(repo: Path, remote: str | None) -> Inputs:
    """What the plans are compiled against: read once for every plan of the command."""
    from planner.dryrun import LedgerHistory
    from planner.lang.scope import Inputs

    config = load_config(repo)
    if remote is not None:
        config = dataclasses.replace(config, remote=remote)  # the remote this run reads, for every stage
    registry = load_registry(repo)
    state = snapshot(config.remote, repo)
    return Inputs(registry, state, config, LedgerHistory(repo, config.remote))  # ledger read only if needed


def _emit(diags: list[Diagnostic], sources: dict[str, str], fmt: str) -> None:
    for d in diags:
        if fmt == "github":
            print(d.github())
        else:
            print(d.render(sources.get(d.span.file) if d.span else None))


def _format_option(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"must be one of: {', '.join(allowed)}")
        return value

    return check


@app.command()
def check(
    plans: Annotated[list[Path], typer.Argument(help="Plan files to check.")],
    fmt: Annotated[
        str, typer.Option("--format", help="text or github.", callback=_format_option(("text", "github")))
    ] = "text",
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Parse and validate plans against the registry and the remote's tags (read-only)."""
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
    plan: Annotated[Path, typer.Argument(help="Plan file.")],
    fmt: Annotated[
        str,
        typer.Option("--format", help="text, dot or mermaid.", callback=_format_option(("text", "dot", "mermaid"))),
    ] = "text",
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Print the plan's steps in dependency order: levels of steps that may run in parallel."""
    from planner.graph import to_dot, to_mermaid, to_text
    from planner.lang.compile import compile_file

    compiled: OrderedPlan = compile_file(plan, _inputs(repo, remote))
    render: dict[str, Callable[[Any, Any], str]] = {"text": to_text, "dot": to_dot, "mermaid": to_mermaid}
    sys.stdout.write(render[fmt](compiled.levels, compiled.edges))


__all__ = ["check", "graph"]
