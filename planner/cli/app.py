"""The Typer application every command module attaches to, and ``run``, which runs it.
CLI-only imports stay in planner.cli."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from planner.errors import EXIT_ERROR, PlannerError, report
from planner.fileio import OutputError, detach_stdout, report_output_error

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
