"""Benchmark: compile a large plan, in process and end to end through the installed console script.

    .venv/bin/python bench/bench_compile.py            # 1,000 and 10,000 statements, 9 runs
    .venv/bin/python bench/bench_compile.py --runs 5
    .venv/bin/python bench/bench_compile.py --cli-runs 5   # 0 skips the console-script part

Builds a registry of N/5 components (each using up to two others), a RepoState with build_state()
(pure), and a plan mixing every statement kind; reports the median wall and CPU time of --runs
compiles (the two sizes alternate) and the peak traced memory of one more compile (tracemalloc
slows that run, so it is not timed).

End to end (``--cli-runs``): a real repository with the same 2,000 components (one fast-import
commit) and a bare remote holding their 10,000 tags (one packed-refs file, as tests/kv_bigrepo.py
builds them); ``planner check bench.plan`` on the 10,000-statement plan and ``planner --version``
(the start-up baseline) run alternately, each as the installed ``.venv/bin/planner``; medians.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.config import PlannerConfig
from planner.gitio import Remote
from planner.lang.compile import Inputs, compile_text
from planner.lang.parser import _building_parser
from planner.model import NAMESPACE_TO_TYPE, ComponentRef
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
    return Registry(comps), build_state(Remote("bench"), remote), refs


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
        inputs = Inputs(registry, state, config, resolve_refs=refs_in_memory)
        compiles[n] = functools.partial(compile_text, text, "bench.plan", inputs)
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


GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
# Run as an installed tool runs: with byte-code caches (this sandbox sets PYTHONDONTWRITEBYTECODE).
RUN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
REMOTE_TAGS = ("v1.0.0", "v1.1.0", "dev", "canary", "production")


def _git(cwd: Path, *args: str, data: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, input=data, env=GIT_ENV, capture_output=True, check=True)
    return out.stdout.decode().strip()


def cli_world(root: Path, refs: list[ComponentRef], text: str) -> Path:
    """A work tree (registry, planner.toml, bench.plan) whose origin holds every component's tags."""
    work, remote = root / "work", root / "remote.git"
    _git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(root, "init", "-q", "-b", "main", str(work))
    _git(work, "remote", "add", "origin", str(remote))
    comps = {
        r.name: {"path": f"{r.namespace}/{i // 100:03d}/{r.name}.txt", "type": NAMESPACE_TO_TYPE[r.namespace]}
        for i, r in enumerate(refs)
    }
    files = {".edgit/components.json": json.dumps({"version": "3.0.0", "components": comps, "updated": "x"})}
    files |= {c["path"]: f"content of {name}\n" for name, c in comps.items()}
    # Three commits: the tags sit on the first two, main is the third, so no move is a no-op.
    stream = []
    for k in range(3):
        stream.append(f"commit refs/heads/main\ncommitter B <b@example.invalid> {k} +0000\ndata 1\n{k}\n".encode())
        changed = files if k == 0 else {".edgit/round": str(k)}
        stream += [f"M 100644 inline {p}\ndata {len(d.encode())}\n{d}\n".encode() for p, d in changed.items()]
    _git(work, "fast-import", "--quiet", data=b"".join(stream))
    _git(work, "push", "-q", "origin", "main")
    first, second = _git(work, "rev-parse", "main~2", "main~1").split()
    at = {"v1.0.0": first, "v1.1.0": second, "dev": first, "canary": second, "production": first}
    tags = sorted((f"refs/tags/components/{r}/{t}", at[t]) for r in refs for t in REMOTE_TAGS)
    (remote / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted \n" + "".join(f"{c} {t}\n" for t, c in tags)
    )
    (work / "planner.toml").write_text(f'environments = {json.dumps(list(ENVS))}\nremote = "origin"\n')
    (work / "bench.plan").write_text(text)
    return work


def measure_cli(runs: int) -> tuple[float, float, int]:
    """(median s of ``planner --version``, median s of ``planner check``, check's exit code)."""
    planner = Path(sys.executable).with_name("planner")
    _, _, refs = world(2_000)
    with tempfile.TemporaryDirectory() as tmp:
        work = cli_world(Path(tmp), refs, plan_text(refs, 10_000))
        cmds = {"version": [str(planner), "--version"], "check": [str(planner), "check", "bench.plan"]}
        times: dict[str, list[float]] = {k: [] for k in cmds}
        code = 0
        for i in range(runs + 1):  # the first round warms caches (byte code, page cache) and is not timed
            for name, argv in cmds.items():
                t0 = time.perf_counter()
                proc = subprocess.run(argv, cwd=work, env=RUN_ENV, capture_output=True, check=False)
                if i:
                    times[name].append(time.perf_counter() - t0)
                if name == "check":
                    code = proc.returncode
                    if code:
                        sys.stderr.write(proc.stdout.decode()[-2000:] + proc.stderr.decode()[-2000:])
        return statistics.median(times["version"]), statistics.median(times["check"]), code


def main() -> None:
    _building_parser()  # the parse+build parser compile_text uses, built once per process; not part of a compile
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--cli-runs", type=int, default=5)
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
    if args.cli_runs > 0:
        start, check, code = measure_cli(args.cli_runs)
        print(
            f"console script, median of {args.cli_runs}: planner --version {start:.3f} s,"
            f" planner check (10,000 statements, 2,000 components) {check:.3f} s (exit {code});"
            f" check - start-up {check - start:.3f} s (budget 1 s)"
        )


if __name__ == "__main__":
    main()
