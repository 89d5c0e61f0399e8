"""``planner validate``: check the component references in the repository's YAML files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RepoOpt, TextOrGithub
from planner.errors import EXIT_ERROR, PlannerError
from planner.gitio import Remote, Repo


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH", help="YAML files or directories (default: the repository)."),
    ] = None,
    fmt: Annotated[
        TextOrGithub, typer.Option("--format", help="Output format (github: workflow annotations).")
    ] = "text",
    env: Annotated[
        str | None,
        typer.Option("--env", help="Check references as they resolve in ENV (slot-less ones too), and ENV's KV."),
    ] = None,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Check component references in YAML files.

    Exit 1 on any error. Reports references that do not resolve: unregistered, untagged, or not (or differently)
    synced to KV.
    """
    from planner.config import load_config
    from planner.model import validate_env
    from planner.registry import load_registry
    from planner.state import snapshot
    from planner.validate import config_targets
    from planner.validate import validate as run_validate

    cfg = load_config(repo)
    if env is not None:
        validate_env(env)
        if cfg.environments is not None and env not in cfg.environments:
            raise PlannerError(f"unknown environment {env!r}; planner.toml lists: {', '.join(cfg.environments)}")
    registry = load_registry(repo)
    state = snapshot(Repo(repo), Remote(remote or cfg.remote))
    report = run_validate(
        repo, list(paths or []), registry=registry, state=state, env=env, open_targets=config_targets(cfg)
    )
    for d in report.diagnostics:
        if fmt == "github":
            print(d.github())
        else:
            print(d.render(report.sources.get(d.span.file) if d.span else None))
    warnings = sum(d.severity == "warning" for d in report.diagnostics)
    print(
        f"validated {report.references} reference(s) in {report.files} YAML file(s): "
        f"{report.errors} error(s), {warnings} warning(s)",
        file=sys.stderr,
    )
    if report.errors:
        raise typer.Exit(EXIT_ERROR)


__all__ = ["validate"]
