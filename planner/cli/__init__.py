"""Thin command-line layer: parse options, call the library, map results to exit codes.

Each command group lives in its own module and attaches itself to ``app`` when imported; the
modules are imported on first use (``planner.cli.app.COMMANDS``), so start-up pays only for Typer.
``run`` (in ``planner.cli.app``, so a command module can run commands without importing this
package) is the single entry point; it turns every PlannerError into a message on stderr and
the error's exit code, so no traceback reaches a user.
"""

from __future__ import annotations

import sys

from planner.cli.app import app, run
from planner.fileio import finish_stdout, guard_stdout

__all__ = ["app", "main", "run"]


def main() -> None:
    guard_stdout()
    sys.exit(finish_stdout(run()))
