"""Benchmark: the dry run (compute_plan + content diffs + markdown) for N components moving at once.

Builds a repository with N prompt components in two commits (v1.0.0 and v1.1.0), a snapshot built
in memory (build_state) with staging at v1.0.0, an empty SQLite KV store, then times each stage.

    .venv/bin/python bench/bench_plan.py --sizes 200,2000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.gitio import Remote, Repo
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.plan.diff import compute_plan, content_changes
from planner.registry import load_registry
from planner.render.markdown import render_markdown
from planner.state import build_state
from planner.steps import MoveEnv, OrderedPlan

ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}


@dataclass(frozen=True)
class Target:
    env: str
    store: SqliteKV
    layouts: tuple[str, ...]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, check=True).stdout.decode().strip()


def build(root: Path, n: int) -> tuple[Path, str, str, list[str]]:
    work = root / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    names = [f"p{i:05d}" for i in range(n)]
    (work / ".edgit").mkdir()
    reg = {x: {"path": f"prompts/{x}.md", "type": "prompt"} for x in names}
    (work / ".edgit/components.json").write_text(json.dumps({"version": "3.0.0", "components": reg}))
    (work / "prompts").mkdir()
    for x in names:
        (work / f"prompts/{x}.md").write_text(f"Prompt {x}\nline two\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "v1")
    c1 = git(work, "rev-parse", "HEAD")
    for x in names:
        (work / f"prompts/{x}.md").write_text(f"Prompt {x}\nline two, better\n")
    git(work, "commit", "-qam", "v2")
    c2 = git(work, "rev-parse", "HEAD")
    git(work, "repack", "-adq")  # packed, like a real clone
    return work, c1, c2, names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200,2000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print("| components | compute_plan (s) | content_changes (s) | render_markdown (s) | markdown chars |")
    print("|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
            root = Path(tmp)
            work, c1, c2, names = build(root, n)
            refs: dict[str, tuple[str, str]] = {}
            for x in names:
                base = f"refs/tags/components/prompts/{x}"
                refs[f"{base}/v1.0.0"] = (c1, c1)
                refs[f"{base}/v1.1.0"] = (c2, c2)
                refs[f"{base}/staging"] = (c1, c1)
            state = build_state(Remote(str(root / "remote.git")), refs)
            steps = tuple(
                MoveEnv(ComponentRef("prompts", x), "components", "staging", Version.parse("v1.1.0"), c2, "promote")
                for x in names
            )
            ordered = OrderedPlan("bench", "", "bench.plan", "00" * 32, steps, (tuple(s.id for s in steps),))
            registry = load_registry(work)
            targets = {"staging": Target("staging", SqliteKV(root / "kv.sqlite", "staging"), ("{type}/{name}@{slot}",))}
            t_plan, t_changes, t_md = [], [], []
            size = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                plan = compute_plan(ordered, repo=Repo(work), registry=registry, state=state, targets=targets)
                t1 = time.perf_counter()
                changes = content_changes(plan, Repo(work), registry)
                t2 = time.perf_counter()
                md = render_markdown(plan, changes)
                t3 = time.perf_counter()
                t_plan.append(t1 - t0)
                t_changes.append(t2 - t1)
                t_md.append(t3 - t2)
                size = len(md)
            med = statistics.median
            print(f"| {n} | {med(t_plan):.2f} | {med(t_changes):.2f} | {med(t_md):.3f} | {size} |")


if __name__ == "__main__":
    main()
