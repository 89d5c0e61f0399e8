"""``planner status``: what each environment points at, per component."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.config import load_config
from planner.state import snapshot


@app.command()
def status(
    component: Annotated[str | None, typer.Argument(help="Only this component (type/name).")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    remote: Annotated[str | None, typer.Option("--remote", help="Remote name, URL or path.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    repo: Annotated[Path, typer.Option("--repo", help="Repository root.")] = Path("."),
) -> None:
    """What each environment points at, with semver-sorted versions."""
    cfg = load_config(repo)
    state = snapshot(remote or cfg.remote, repo)
    rows = []
    for ref, cs in state.components.items():
        if component and str(ref) != component:
            continue
        envs = {e: (str(p.version) if p.version else None) for e, p in cs.envs.items() if env in (None, e)}
        rows.append(
            {"component": str(ref), "prefix": cs.prefix, "envs": envs, "versions": [str(v) for v in cs.versions]}
        )
    if fmt == "json":
        print(json.dumps({"components": rows}, indent=2))
    else:
        for r in rows:
            print(r["component"], r["envs"])
