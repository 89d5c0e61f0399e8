"""Thin command-line layer: parse options, call the library, map results to exit codes.

Each command group lives in its own module and attaches itself to ``app`` when imported.
``run`` is the single entry point; it turns every PlannerError into a message on stderr and
the error's exit code, so no traceback reaches a user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from planner.cli.app import app
from planner.errors import EXIT_ERROR, PlannerError, report
from planner.fileio import OutputError, detach_stdout, finish_stdout, guard_stdout, report_output_error

# Command modules (import order = help order). Each registers its commands on `app`.
from planner.cli import status as _status  # noqa: F401  isort: skip
from planner.cli import components as _components  # noqa: F401  isort: skip
from planner.cli import demo as _demo  # noqa: F401  isort: skip
from planner.cli import check as _check  # noqa: F401  isort: skip
from planner.cli import plan as _plan  # noqa: F401  isort: skip
from planner.cli import apply as _apply  # noqa: F401  isort: skip
from planner.cli import validate as _validate  # noqa: F401  isort: skip
from planner.cli import kv as _kv  # noqa: F401  isort: skip
from planner.cli import rollback as _rollback  # noqa: F401  isort: skip
from planner.cli import github as _github  # noqa: F401  isort: skip

__all__ = ["app", "main", "run"]


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


def main() -> None:
    guard_stdout()
    sys.exit(finish_stdout(run()))
