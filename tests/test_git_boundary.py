"""The git boundary: planner/gitio.py is the only module that starts a process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planner"
BOUNDARY = PACKAGE / "gitio.py"
STARTERS = {
    "subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"},
    "os": {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp"}
    | {f"exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
    | {f"spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
}


def process_starts(source: str) -> list[str]:
    """Calls that start a process (``subprocess.run(...)``, ``os.execv(...)``, an imported ``Popen``)."""
    tree = ast.parse(source)
    imported: set[str] = set()  # names bound by ``from subprocess import Popen`` and the like
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in STARTERS:
            imported |= {a.asname or a.name for a in node.names if a.name in STARTERS[node.module]}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.attr in STARTERS.get(f.value.id, ()):
            found.append(f"{f.value.id}.{f.attr} (line {node.lineno})")
        elif isinstance(f, ast.Name) and f.id in imported:
            found.append(f"{f.id} (line {node.lineno})")
    return found


def test_the_checker_sees_every_way_to_start_a_process() -> None:
    src = "import os, subprocess\nfrom subprocess import Popen as P\nsubprocess.run(['x'])\nP(['x'])\nos.execvp('x', [])\n"
    assert process_starts(src) == ["subprocess.run (line 3)", "P (line 4)", "os.execvp (line 5)"]
    assert process_starts("import subprocess\nx: subprocess.CompletedProcess[bytes]\n") == []


@pytest.mark.parametrize("module", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")))
def test_only_the_boundary_starts_processes(module: str) -> None:
    path = PACKAGE / module
    starts = process_starts(path.read_text(encoding="utf-8"))
    if path == BOUNDARY:
        assert starts  # the boundary itself: run_git and start_git
    else:
        assert starts == [], f"{module} starts a process itself; go through planner.gitio"
