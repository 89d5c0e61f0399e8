"""``planner github pr|apply``: the GitHub Action's two jobs (planner.github; docs/ci.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RepoOpt

github_app = typer.Typer(
    name="github", help="Run in GitHub Actions: PR plans and the apply on main.", no_args_is_help=True
)
app.add_typer(github_app, name="github")


def _remote(repo: Path, remote: str | None) -> str:
    from planner.config import load_config

    return remote or load_config(repo).remote


@github_app.command("pr")
def pr(remote: RemoteOpt = None, repo: RepoOpt = Path(".")) -> None:
    """Check, validate and plan the pull request's plan files; one sticky comment and the summary."""
    from planner.github.actions import Runner
    from planner.github.run import pr_command

    raise typer.Exit(pr_command(repo, _remote(repo, remote), Runner()))


@github_app.command("apply")
def apply(
    since: Annotated[
        str | None,
        typer.Option("--since", help="First run only: ignore plan files merged at or before this commit."),
    ] = None,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Apply every plan file merged to main that is not applied yet, in merge order (a reconcile)."""
    from planner.github.actions import Runner
    from planner.github.run import apply_command

    raise typer.Exit(apply_command(repo, _remote(repo, remote), Runner(), since=since))
