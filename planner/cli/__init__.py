"""Thin command-line layer: parse options, call the library, map results to exit codes.

Each command group lives in its own module and attaches itself to ``app`` when imported.
``run`` (in ``planner.cli.app``, so a command module can run commands without importing this
package) is the single entry point; it turns every PlannerError into a message on stderr and
the error's exit code, so no traceback reaches a user.
"""

from __future__ import annotations

import sys

from planner.cli.app import app, run
from planner.fileio import finish_stdout, guard_stdout

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

__all__ = ["app", "main", "run"]


def main() -> None:
    guard_stdout()
    sys.exit(finish_stdout(run()))
