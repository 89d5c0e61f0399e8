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
