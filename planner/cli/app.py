"""The Typer application every command module attaches to. CLI-only imports stay in planner.cli.

Command modules are imported lazily: ``COMMANDS`` names each command's module, and
:class:`LazyGroup` imports a module only when one of its commands runs (or when help or
completion lists them). ``planner --version`` imports no command module, and ``planner status``
imports only ``planner.cli.status`` and what it needs. The commands themselves are registered
the usual Typer way (``@app.command()`` in their module); this table only says where they live.
``run`` runs the app (here, so a command module can run commands without importing the package).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer
import typer.main
from typer._click.core import Command
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from planner.errors import EXIT_ERROR, PlannerError, report
from planner.fileio import OutputError, detach_stdout, report_output_error

# Command name -> module under planner.cli. `planner --help` lists them in this order, the order of
# the release workflow: write and review a plan, apply it, look at the result, undo, repair KV, set
# up. tests/test_cli_lazy.py checks that every registered command is listed here and nothing else.
COMMANDS: dict[str, str] = {
    "check": "check",
    "plan": "plan",
    "show": "plan",
    "graph": "check",
    "apply": "apply",
    "promote": "apply",
    "status": "status",
    "history": "apply",
    "rollback": "rollback",
    "revert": "apply",
    "recover": "apply",
    "validate": "validate",
    "kv": "kv",
    "sync": "kv",
    "components": "components",
    "github": "github",
    "demo": "demo",
}


class LazyGroup(TyperGroup):
    """The top-level group: commands are built from their module on first use."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Command | None:  # type: ignore[override]
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self._load(COMMANDS[cmd_name])
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]):  # type: ignore[no-untyped-def,override]
        try:
            return super().resolve_command(ctx, args)
        except UsageError:
            for module in dict.fromkeys(COMMANDS.values()):  # an unknown name: suggest among all of them
                self._load(module)
            return super().resolve_command(ctx, args)

    def _load(self, module: str) -> None:
        importlib.import_module(f"planner.cli.{module}")  # registers its commands on `app`
        built = typer.main.get_command(app)  # the group of every command registered so far
        assert isinstance(built, TyperGroup)
        for name, command in built.commands.items():
            if COMMANDS.get(name) == module and name not in self.commands:
                self.add_command(command, name)


app = typer.Typer(
    name="planner",
    cls=LazyGroup,
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


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (never raises for user errors)."""
    try:
        rv = app(args=list(argv) if argv is not None else None, prog_name="planner", standalone_mode=False)
    except PlannerError as exc:
        report(exc)
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader of stdout went away (`planner ... | head`): nothing to say
        detach_stdout()
        return EXIT_ERROR
    except OutputError as exc:  # stdout itself failed (see guard_stdout): a full disk, say
        report_output_error(exc)
        return EXIT_ERROR
    except Exception as exc:
        # Usage errors (Typer's vendored click exceptions) know how to show themselves.
        show = getattr(exc, "show", None)
        if not callable(show) or not isinstance(getattr(exc, "exit_code", None), int):
            raise
        show()
        return EXIT_ERROR  # usage errors exit 1: 2 means "changes present" in this tool
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if rv == 130:  # Typer turns Ctrl-C inside a command into exit 130, silently
        detach_stdout()  # drop pending output: nobody may be reading it
        print("interrupted", file=sys.stderr)
    return rv if isinstance(rv, int) else 0
