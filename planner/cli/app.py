"""The Typer application every command module attaches to. CLI-only imports stay in planner.cli."""

from __future__ import annotations

import typer
from typer import _click
from typer.core import TyperGroup

# `planner --help` lists commands in the order of the release workflow, not of registration:
# write and review a plan, apply it, look at the result, undo, repair KV, set up.
COMMAND_ORDER = (
    "check",
    "plan",
    "show",
    "graph",
    "apply",
    "promote",
    "status",
    "history",
    "rollback",
    "revert",
    "recover",
    "validate",
    "kv",
    "sync",
    "components",
    "demo",
)


class _OrderedGroup(TyperGroup):
    def list_commands(self, ctx: _click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: rank.get(n, len(rank)))


app = typer.Typer(
    name="planner",
    cls=_OrderedGroup,
    help="Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion: bash, zsh, fish (Typer's own)
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from planner import __version__

        print(f"planner {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction."""
