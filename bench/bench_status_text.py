"""Benchmark: text ``planner status`` against JSON at 2,000 components (10,000 tags), on the
installed console script, the commands alternating round by round.

    .venv/bin/python bench/bench_status_text.py --runs 7

"json": the console script's JSON fast path; "typer-json": the same document through the full
Typer CLI (``python -m planner``), which is the path the text table takes.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_status  # the remote builder: one pack, one packed-refs

RUN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    planner = str(Path(sys.executable).parent / "planner")
    with tempfile.TemporaryDirectory() as d:
        root, work, remote = Path(d), Path(d) / "work", Path(d) / "remote.git"
        bench_status.git(root, "init", "-q", str(work))
        bench_status.git(work, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "--allow-empty", "-m", "i")
        bench_status.build_remote(remote, args.tags)
        cmds = {
            "json": [planner, "status", "--format", "json", "--remote", str(remote)],
            "typer-json": [sys.executable, "-m", "planner", "status", "--format", "json", "--remote", str(remote)],
            "text": [planner, "status", "--remote", str(remote)],
        }
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for cmd in cmds.values():  # warm-up: byte-code caches, page cache
            subprocess.run(cmd, cwd=work, capture_output=True, env=RUN_ENV, check=True)
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                t = time.perf_counter()
                subprocess.run(cmd, cwd=work, capture_output=True, env=RUN_ENV, check=True)
                times[name].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"| {args.tags} | {args.tags // 5} | {med['json'] * 1000:.0f} | {med['typer-json'] * 1000:.0f} "
            f"| {med['text'] * 1000:.0f} | {med['text'] / med['json']:.2f} | {med['text'] / med['typer-json']:.2f} |"
        )


if __name__ == "__main__":
    main()
