"""The Typer application every command module attaches to. CLI-only imports stay in planner.cli."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="planner",
    help="Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
