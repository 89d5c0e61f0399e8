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


def warn_state(doc: dict[str, Any], registry_warnings: list[str]) -> None:
    """Divergences and ignored refs go to stderr: never silently trusted, never mixed into JSON."""
    for d in doc["divergences"]:
        if d["remote"] is None:
            msg = f"{d['ref']}: exists locally ({d['local'][:12]}) but not on the remote"
        else:
            msg = f"{d['ref']}: local tag is stale ({d['local'][:12]}), the remote has {d['remote'][:12]}"
        print(f"warning: {msg}", file=sys.stderr)
    for ref in doc["ignored_refs"]:
        print(f"warning: ignored remote ref with an invalid tag name: {ref!r}", file=sys.stderr)
    for p in doc["problems"]:
        print(f"warning: {p}", file=sys.stderr)
    for w in registry_warnings:
        print(w, file=sys.stderr)


@app.command()
def status(
    component: Annotated[str | None, typer.Argument(help="Only this component (type/name, or a unique name).")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    remote: Annotated[
        str | None, typer.Option("--remote", help="Remote name, URL or path (default: planner.toml, else origin).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    repo: Annotated[Path, typer.Option("--repo", help="Repository root.")] = Path("."),
) -> None:
    """What each environment points at, with semver-sorted versions."""
    import json

    from planner.config import load_config
    from planner.errors import PlannerError
    from planner.model import validate_env
    from planner.registry import load_registry
    from planner.state import snapshot
    from planner.status import build_status

    if fmt not in ("text", "json"):
        raise PlannerError(f"unknown --format {fmt!r}: use text or json")
    if env is not None:
        validate_env(env)
    cfg = load_config(repo)
    registry = load_registry(repo)
    state = snapshot(remote or cfg.remote, repo)
    doc = build_status(registry, state, component=component, env=env)
    warn_state(doc, [w.render() for w in registry.warnings])
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        render_table(doc)
