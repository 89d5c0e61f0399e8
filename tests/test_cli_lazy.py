"""Start-up: command modules load on first use, and ``planner --version`` imports only what it needs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import run
from planner.cli.app import COMMANDS, app

PLANNER = Path(sys.executable).parent / "planner"

# What `planner --version` may import from the planner: the CLI shell, the error root and the
# stdout guard. No command module, no library stage.
VERSION_MAY_IMPORT = {"planner", "planner.cli", "planner.cli.app", "planner.errors", "planner.fileio"}
# Third-party modules a command needs and --version must not pay for.
HEAVY = ("lark", "networkx", "httpx", "yaml", "pydantic", "rich", "sqlite3", "tomllib")


# Runs the installed console script as ``python PLANNER ARGS`` would, then lists sys.modules at exit
# (``-X importtime`` misses modules loaded with importlib, as the lazy commands are).
_PROBE = """
import atexit, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _imported(*args: str) -> set[str]:
    """Modules the installed console script imports for ``planner ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(PLANNER), *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stderr.rsplit("MODULES ", 1)[1].split())


def test_version_imports_only_the_cli_shell() -> None:
    names = _imported("--version")
    ours = {n for n in names if n == "planner" or n.startswith("planner.")}
    assert ours == VERSION_MAY_IMPORT
    assert "typer" in names  # the CLI itself, which the budget allows (bench/README.md)
    assert [h for h in HEAVY if h in names] == []


def test_a_command_imports_its_own_module_only() -> None:
    names = _imported("check", "--help")
    commands = {n for n in names if n.startswith("planner.cli.") and n != "planner.cli.app"}
    assert commands == {"planner.cli.check", "planner.cli.options"}


def test_every_registered_command_is_in_the_table() -> None:
    for module in set(COMMANDS.values()):
        __import__(f"planner.cli.{module}")
    registered = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback} | {
        g.name for g in app.registered_groups
    }
    assert registered == set(COMMANDS)


def test_help_lists_every_command_in_table_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out[out.index("Commands") :]
    rows = [m.group(1) for m in re.finditer(r"^\W*([a-z]+) {2,}\S", commands, re.M)]  # "│ status   What..."
    assert rows == list(COMMANDS)


def test_an_unknown_command_is_suggested_among_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["histroy"]) == 1
    assert "Did you mean 'history'?" in capsys.readouterr().err
