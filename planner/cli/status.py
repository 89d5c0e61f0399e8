"""``planner status``: what each environment points at, per component.

Imports beyond typer happen inside the command so ``planner --help`` and the JSON path stay quick
(rich is loaded only for the text table).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RepoOpt


def render_table(doc: dict[str, Any]) -> None:
    """Components x environments as a rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"remote: {doc['remote']}", title_justify="left")
    table.add_column("component", no_wrap=True)
    table.add_column("latest", no_wrap=True)
    for env in doc["environments"]:
        table.add_column(env)
    table.add_column("notes")
    for c in doc["components"]:
        cells = [c["component"], c["latest"] or "-"]
        for env in doc["environments"]:
            p = c["envs"][env]
            if p is None:
                cells.append("-")
            else:
                cells.append(p["version"] or f"(no version: {p['commit'][:12]})")
        notes = []
        if c["needs_rebuild"]:
            notes.append("needs rebuild")
        if not c["registered"]:
            notes.append("not in registry")
        cells.append(", ".join(notes))
        table.add_row(*cells)
    # Not a terminal (CI logs, pipes): do not squeeze the table into 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(table)


@app.command()
def status(
    component: Annotated[str | None, typer.Argument(help="Only this component (type/name, or a unique name).")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    remote: RemoteOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    repo: RepoOpt = Path("."),
) -> None:
    """What each environment points at, with semver-sorted versions."""
    from planner.errors import PlannerError
    from planner.status import dump_json, status_document

    if fmt not in ("text", "json"):
        raise PlannerError(f"unknown --format {fmt!r}: use text or json")
    doc, warnings = status_document(repo, component=component, env=env, remote=remote)
    for w in warnings:
        print(w, file=sys.stderr)
    if fmt == "json":
        sys.stdout.write(dump_json(doc))
    else:
        render_table(doc)
