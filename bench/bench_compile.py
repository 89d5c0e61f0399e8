"""Benchmark: compile a large plan against an in-memory snapshot (no git, no network).

    .venv/bin/python bench/bench_compile.py            # 1,000 and 10,000 statements, 9 runs
    .venv/bin/python bench/bench_compile.py --runs 5

Builds a registry of N/5 components (each using up to two others), a RepoState with build_state()
(pure), and a plan mixing every statement kind; reports the median wall and CPU time of --runs
compiles (the two sizes alternate) and the peak traced memory of one more compile (tracemalloc
slows that run, so it is not timed).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.config import PlannerConfig
from planner.lang.compile import compile_text
from planner.lang.parser import _building_parser, get_parser
from planner.model import ComponentRef
from planner.registry import Component, Registry
from planner.state import RepoState, build_state

ENVS = ("dev", "qa", "staging", "canary", "production")
TYPES = ("prompt", "agent-definition", "schema", "query", "config")
NS = {"prompt": "prompts", "agent-definition": "agents", "schema": "schemas", "query": "queries", "config": "configs"}
COMMIT = "c" * 40


def world(n_components: int) -> tuple[Registry, RepoState, list[ComponentRef]]:
    comps: dict[ComponentRef, Component] = {}
    refs: list[ComponentRef] = []
    remote: dict[str, tuple[str, str]] = {}
    for i in range(n_components):
        t = TYPES[i % len(TYPES)]
        ref = ComponentRef(NS[t], f"c{i:05d}")
        uses = tuple(refs[j] for j in (i - 1, i - 7) if j >= 0)
        comps[ref] = Component(ref.name, t, f"{ref.namespace}/{ref.name}.txt", "components", uses)
        refs.append(ref)
        base = f"refs/tags/components/{ref}"
        for k, v in enumerate(("v1.0.0", "v1.1.0")):
            oid = f"{i:08x}{k:032x}"
            remote[f"{base}/{v}"] = (oid, oid)
        for env in ("dev", "canary", "production"):
            oid = f"{i:08x}{0:032x}"
            remote[f"{base}/{env}"] = (oid, oid)
    return Registry(comps), build_state("bench", remote), refs


def plan_text(refs: list[ComponentRef], statements: int) -> str:
    n = len(refs)
    lines = ['plan "bench" {', '  description "generated"']
    lines += [f"  create {r} v2.0.0 at main" for r in refs]
    lines += [f"  promote {r} v2.0.0 to dev" for r in refs]
    lines += [f"  promote {r} from dev to qa" for r in refs]
    lines += [f"  promote {r} from qa to staging" for r in refs]
    rest = statements - 4 * n - 5
    lines += [f"  rollback {r} in canary to v1.0.0" for r in refs[: rest // 2]]
    lines += [f"  promote {r} v1.1.0 to production" for r in refs[: rest - rest // 2]]
    lines += [f'  verify {e} get "https://bench.example/{e}" expect 200 within 30s' for e in ENVS]
    lines.append("}")
    assert len(lines) - 3 == statements, len(lines)
    return "\n".join(lines) + "\n"


def refs_in_memory(refs: Sequence[str]) -> Mapping[str, str | None]:
    return dict.fromkeys(refs, COMMIT)


def measure(sizes: Sequence[int], runs: int) -> dict[int, tuple[float, float, float, int]]:
    """size -> (median wall s, median CPU s, peak traced MiB, steps).

    The sizes are compiled in turn within each run (1,000, 10,000, 1,000, ...), so a change in the
    machine's load (it is shared) hits every size alike and the ratio stays meaningful.
    """
    config = PlannerConfig(root=Path("."), environments=ENVS)
    compiles = {}
    for n in sizes:
        registry, state, refs = world(n // 5)
        text = plan_text(refs, n)
        compiles[n] = functools.partial(
            compile_text, text, "bench.plan", registry=registry, state=state, config=config, resolve_refs=refs_in_memory
        )
    times: dict[int, list[float]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    steps: dict[int, int] = {}
    for _ in range(runs):
        for n in sizes:
            t0, c0 = time.perf_counter(), time.process_time()
            steps[n] = len(compiles[n]().steps)
            times[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
    out = {}
    for n in sizes:
        tracemalloc.start()
        compiles[n]()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[n] = (statistics.median(times[n]), statistics.median(cpu[n]), peak / 2**20, steps[n])
    return out


def main() -> None:
    get_parser()  # built once per process, as in the CLI; not part of a compile
    _building_parser()  # the parse+build parser compile_text uses, also built once per process
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    results = measure((1_000, 10_000), args.runs)
    for n, (secs, cpu, peak_mib, steps) in results.items():
        print(
            f"{n:>6} statements over {n // 5:>5} components: median wall {secs:.3f} s, cpu {cpu:.3f} s,"
            f" peak {peak_mib:.1f} MiB, {steps} steps"
        )
    wall = results[10_000][0] / results[1_000][0]
    cpu_ratio = results[10_000][1] / results[1_000][1]
    print(f"ratio 10,000 / 1,000 statements: wall {wall:.1f}x, cpu {cpu_ratio:.1f}x")


if __name__ == "__main__":
    main()
