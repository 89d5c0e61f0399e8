"""Benchmark: sync 20,000 KV keys (10,000 components x {v1.0.0, staging}) to one namespace.

Runs the real pipeline (remote snapshot, batched blob reads, batched KV reads, bulk writes) against
the loopback Cloudflare KV server and the SQLite store. Run from the repository root:

    .venv/bin/python -m bench.bench_kv [--runs 5] [--components 10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from planner.config import load_config
from planner.gitio import Remote, Repo
from planner.kv.bindings import NamespaceTarget, close_stores, open_stores
from planner.kv.sync import compare, desired_keys, write
from planner.state import snapshot
from tests.cfkv_server import CFKVServer, cf_env
from tests.kv_bigrepo import many_components


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def one_run(root: Path, kind: str, server: CFKVServer, n: int) -> dict[str, float]:
    repo = many_components(root, n)
    (repo.work / "wrangler.toml").write_text('[[kv_namespaces]]\nbinding = "COMPONENTS_KV"\nid = "bench"\n')
    (repo.work / "planner.toml").write_text(f'[kv]\nstore = "{kind}"\nwrangler_env = ""\n')
    server.state.data.pop("bench", None)
    server.reset_counts()
    targets: dict[str, NamespaceTarget] = open_stores(load_config(repo.work), ["staging"], environ=cf_env(server))
    out: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        state = snapshot(Repo(repo.work), Remote("origin"))
        t1 = time.perf_counter()
        desired = desired_keys(repo.work, state, targets)
        t2 = time.perf_counter()
        statuses = compare(desired, targets)
        t3 = time.perf_counter()
        written = write(desired, statuses, targets)
        t4 = time.perf_counter()
        assert written == 2 * n, written
        if kind == "cloudflare":
            assert server.count("PUT bulk") == -(-2 * n // 10_000), server.count("PUT bulk")
        out = {
            "snapshot": t1 - t0,
            "read blobs": t2 - t1,
            "compare (KV reads)": t3 - t2,
            "bulk write": t4 - t3,
            "total": t4 - t0,
        }
        out["resync (nothing to do)"] = timed(
            lambda: compare(desired_keys(repo.work, snapshot(Repo(repo.work), Remote("origin")), targets), targets)
        )
    finally:
        close_stores(targets)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--components", type=int, default=10_000)
    args = ap.parse_args()
    with CFKVServer() as server:
        results: dict[str, list[dict[str, float]]] = {"cloudflare": [], "sqlite": []}
        for i in range(args.runs):
            for kind in results:
                with tempfile.TemporaryDirectory() as tmp:
                    results[kind].append(one_run(Path(tmp), kind, server, args.components))
            print(f"run {i + 1}/{args.runs} done", flush=True)
    print(f"\n{2 * args.components} keys, {args.runs} runs, medians in seconds")
    phases = list(results["cloudflare"][0])
    print("| phase | cloudflare (loopback) | sqlite | ratio cf/sqlite |\n|---|---|---|---|")
    for p in phases:
        cf = statistics.median(r[p] for r in results["cloudflare"])
        sq = statistics.median(r[p] for r in results["sqlite"])
        print(f"| {p} | {cf:.2f} | {sq:.2f} | {cf / sq:.1f}x |")


if __name__ == "__main__":
    main()
