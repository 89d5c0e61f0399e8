"""Benchmark: loading ``.edgit/components.json`` with N components, in process and through the CLI.

Writes a registry of N prompt components (edgit's layout, files present) and times
``planner.registry.load_registry`` in process and ``planner components list --format json`` on
the installed console script (start-up included). Loading must be linear in components.

    .venv/bin/python bench/bench_registry.py --sizes 1000,5000 --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from planner.registry import dump_edgit, load_registry

RUN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(root: Path, n: int) -> None:
    (root / ".edgit").mkdir()
    (root / "prompts").mkdir()
    comps = {f"c{i}": {"path": f"prompts/c{i}.md", "type": "prompt"} for i in range(n)}
    for i in range(n):
        (root / f"prompts/c{i}.md").write_text("x\n")
    doc = {"version": "3.0.0", "components": comps, "updated": "2026-01-01T00:00:00.000Z"}
    (root / ".edgit/components.json").write_text(dump_edgit(doc))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    planner = str(Path(sys.executable).with_name("planner"))
    print("| components | load_registry (median) | `components list --format json` (median) |")
    print("|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            build(root, n)
            loads, clis = [], []
            cmd = [planner, "components", "list", "--format", "json", "--repo", str(root)]
            subprocess.run(cmd, check=True, capture_output=True, env=RUN_ENV)  # warm-up
            for _ in range(args.runs):
                t = time.perf_counter()
                load_registry(root)
                loads.append(time.perf_counter() - t)
                t = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=RUN_ENV)
                clis.append(time.perf_counter() - t)
            print(f"| {n} | {statistics.median(loads) * 1000:.0f} ms | {statistics.median(clis) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
