"""``planner status``: what each environment points at, per component.

Imports beyond typer happen inside the command so ``planner --help`` and the JSON path stay quick.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.app import app
from planner.cli.options import EnvOpt, FormatOpt, RemoteOpt, RepoOpt


def render_table(doc: dict[str, Any]) -> str:
    """Components x environments as aligned columns (``kubectl get`` style).

    Written directly rather than through rich's Table: at 2,000 components rich took ~0.7 s to
    lay the table out, six times the whole JSON status (bench/README.md, status text)."""
    envs = doc["environments"]
    header = ["component", "latest", *envs, "notes"]
    rows = [header]
    for c in doc["components"]:
        cells = [c["component"], c["latest"] or "-"]
        for env in envs:
            p = c["envs"][env]
            cells.append("-" if p is None else p["version"] or f"(no version: {p['commit'][:12]})")
        notes = [n for n, on in (("needs rebuild", c["needs_rebuild"]), ("not in registry", not c["registered"])) if on]
        cells.append(", ".join(notes))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [f"remote: {doc['remote']}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


@app.command()
def status(
    component: Annotated[
        str | None, typer.Argument(metavar="COMPONENT", help="Only this component (type/name, or a unique name).")
    ] = None,
    env: EnvOpt = None,
    remote: RemoteOpt = None,
    fmt: FormatOpt = "text",
    repo: RepoOpt = Path("."),
) -> None:
    """What each environment points at, with semver-sorted versions."""
    from planner.status import dump_json, status_document

    doc, warnings = status_document(repo, component=component, env=env, remote=remote)
    for w in warnings:
        print(w, file=sys.stderr)
    if fmt == "json":
        sys.stdout.write(dump_json(doc))
    else:
        sys.stdout.write(render_table(doc))
