"""The wheel is self-contained: a non-editable install ships every sub-package and the grammar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import importlib, importlib.resources, json, sys, planner.cli, planner.lang.parser
from planner.lang.build import build
grammar = importlib.import_module("planner.grammar")
files = sorted(p.name for p in importlib.resources.files("planner.grammar").iterdir() if p.name.endswith(".lark"))
plan = build(planner.lang.parser.parse(open(sys.argv[1]).read(), sys.argv[1]), sys.argv[1])
print(json.dumps({"planner": planner.cli.__file__, "lark": files, "plan": plan.name.text,
                  "statements": len(plan.statements)}))
"""


@pytest.mark.slow
def test_wheel_installs_with_grammar(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("release_planner-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    proc = subprocess.run(
        [str(venv / "bin/python"), "-c", CHECK, str(ROOT / "plans" / "release.plan")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(proc.stdout)
    assert got["planner"].startswith(str(venv)), "planner must come from the wheel, not the source tree"
    # Every grammar file in the source tree is shipped, and the installed parser reads a plan with it.
    assert got["lark"] == sorted(p.name for p in (ROOT / "grammar").glob("*.lark"))
    assert "plan.lark" in got["lark"]
    assert got["plan"] == "extraction-v1.1" and got["statements"] > 3
    demo = subprocess.run([str(venv / "bin/planner"), "demo"], capture_output=True, text=True, timeout=120, check=False)
    assert demo.returncode == 0, demo.stderr
    assert "scripts/router" in demo.stdout
