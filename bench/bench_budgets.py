"""Benchmark: issue 16's end-to-end budgets (and issue 13's text-vs-JSON status), on the installed
console script, every command of a row alternating round by round so machine load hits all alike.

    .venv/bin/python bench/bench_budgets.py --sizes 1000,10000,50000 --runs 7

Rows:
- start-up: ``planner --version`` against ``python -c 'import typer'`` (budget: + 0.05 s);
- status, for remotes whose versions have their own commits (the usual case) and for the worst
  case, every version of a component at one commit (every env tag must be told apart by its tag
  object, planner/exact.py): ``planner status --format json`` beside ``git ls-remote`` of the same remote and
  ``planner --version``; its own work = status - ls-remote - start-up, per tag (budget: 10 us per
  tag at 10,000 and 50,000 tags; each size step may grow at most 1.1x the input's growth);
- text: ``planner status`` (the table) against ``--format json`` (budget: 1.5x).
Medians of ``--runs`` rounds after one warm-up round.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_status  # the remote builder: one pack, one packed-refs

PLANNER = str(Path(sys.executable).parent / "planner")


def medians(cmds: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for i in range(runs + 1):
        for name, argv in cmds.items():
            t = time.perf_counter()
            subprocess.run(argv, cwd=cwd, capture_output=True, env=bench_status.RUN_ENV, check=True)
            if i:
                times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-budgets-") as d:
        root, work = Path(d), Path(d) / "work"
        bench_status.git(root, "init", "-q", str(work))
        bench_status.git(work, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "--allow-empty", "-m", "i")
        m = medians(
            {"typer": [sys.executable, "-c", "import typer"], "version": [PLANNER, "--version"]}, work, args.runs
        )
        gap = m["version"] - m["typer"]
        print(
            f"start-up: import typer {m['typer'] * 1000:.0f} ms, planner --version {m['version'] * 1000:.0f} ms, "
            f"gap {gap * 1000:.0f} ms (budget 50 ms: {'met' if gap <= 0.05 else 'MISSED'})"
        )
        print()
        print(
            "| tags | versions | git ls-remote (ms) | --version (ms) | status json (ms) | own work (ms) | us per tag "
            "| growth of own work | status text (ms) | text / json |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        last: tuple[int, float] | None = None
        for n, shared in ((int(s), shared) for shared in (False, True) for s in args.sizes.split(",")):
            if shared and last is not None and last[0] > n:
                last = None  # a new series
            remote = root / f"remote-{n}-{shared}.git"
            bench_status.build_remote(remote, n, shared_commit=shared)
            ls = ["git", "ls-remote", str(remote), "refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*"]
            m = medians(
                {
                    "ls": ls,
                    "version": [PLANNER, "--version"],
                    "json": [PLANNER, "status", "--format", "json", "--remote", str(remote)],
                    "text": [PLANNER, "status", "--remote", str(remote)],
                },
                work,
                args.runs,
            )
            own = m["json"] - m["ls"] - m["version"]
            growth = "" if last is None else f"{own / last[1]:.2f}x for {n / last[0]:.0f}x"
            last = (n, own)
            print(
                f"| {n} | {'one commit (worst)' if shared else 'own commits'} | {m['ls'] * 1000:.0f} | {m['version'] * 1000:.0f} | {m['json'] * 1000:.0f} "
                f"| {own * 1000:.0f} | {own / n * 1e6:.1f} | {growth} | {m['text'] * 1000:.0f} "
                f"| {m['text'] / m['json']:.2f} |"
            )


if __name__ == "__main__":
    main()
