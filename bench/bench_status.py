"""Benchmark: ``planner status --format json`` against a plain ``git ls-remote`` of the same remote.

Builds bare remotes with N annotated tags without one git process per tag: every object is
hashed in Python and written as ONE pack (indexed by one ``git index-pack``), every ref goes into
one ``packed-refs`` file (with peeled lines, as ``git pack-refs`` writes it). env tags are written
as edgit does (staging nested on the version tag object) and as the planner does (production
straight at the commit). Each component gets 3 versions + 2 environments, so N tags = N/5 components.

    .venv/bin/python bench/bench_status.py --sizes 1000,10000,50000 --runs 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

NAMESPACES = ["prompts", "agents", "schemas", "templates", "queries", "configs", "scripts", "ensembles", "tools"]
VERSIONS = ("v1.0.0", "v1.1.0", "v1.10.0-rc.1")
IDENT = "Bench <bench@example.invalid> 1767225600 +0000"
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
# Timed commands run as an installed tool does: with byte-code caches. pip compiles them at install
# time; this sandbox sets PYTHONDONTWRITEBYTECODE=1, which would recompile planner's modules on
# every run (~25 ms). The first (warm-up) run writes them.
RUN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def git(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, input=input, env=ENV, capture_output=True, check=True).stdout


def _obj(kind: str, body: bytes) -> tuple[str, str, bytes]:
    oid = hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).hexdigest()
    return oid, kind, body


def _write_pack(path: Path, objects: list[tuple[str, str, bytes]]) -> None:
    """One pack file with every object (written here, indexed by one ``git index-pack``)."""
    codes = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
    out = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    for _, kind, body in objects:
        size = len(body)
        byte = (codes[kind] << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte, size = size & 0x7F, size >> 7
        header.append(byte)
        out += header + zlib.compress(body, 1)
    out += hashlib.sha1(out, usedforsecurity=False).digest()
    pack = path / "objects/pack/bench.pack"
    pack.write_bytes(out)
    git(path, "index-pack", str(pack))


def build_remote(path: Path, n_tags: int) -> None:
    """A bare remote with ``n_tags`` annotated tags, built in-process: one pack, one packed-refs.

    Objects (blob, tree, commit, version tags, env tags) are hashed here and written as a single
    pack (``git index-pack`` indexes it); the refs go into ``packed-refs`` with peeled lines, the
    same file ``git pack-refs`` would write. Three git processes whatever ``n_tags`` is.
    """
    git(path.parent, "init", "-q", "--bare", "-b", "main", str(path))
    blob = _obj("blob", b"x\n")
    tree = _obj("tree", b"100644 README\0" + bytes.fromhex(blob[0]))
    commit = _obj("commit", f"tree {tree[0]}\nauthor {IDENT}\ncommitter {IDENT}\n\ninit\n".encode())
    objects = [blob, tree, commit]
    refs: dict[str, tuple[str, str]] = {"refs/heads/main": (commit[0], "")}

    def tag(name: str, target: str, kind: str, msg: str) -> str:
        body = f"object {target}\ntype {kind}\ntag {name}\ntagger {IDENT}\n\n{msg}\n".encode()
        obj = _obj("tag", body)
        objects.append(obj)
        refs[f"refs/tags/{name}"] = (obj[0], commit[0])
        return obj[0]

    for i in range(n_tags // 5):  # 3 versions + 2 environments per component
        ns, name = NAMESPACES[i % len(NAMESPACES)], f"c{i:06d}"
        base = f"components/{ns}/{name}"
        ids = {v: tag(f"{base}/{v}", commit[0], "commit", f"Release {name} {v}") for v in VERSIONS}
        tag(f"{base}/staging", ids["v1.1.0"], "tag", f"Set {name} to staging")  # nested, as edgit writes it
        tag(f"{base}/production", commit[0], "commit", f"Set {name} to production")  # straight at the commit
    _write_pack(path, objects)
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    for ref in sorted(refs):
        oid, peeled = refs[ref]
        lines.append(f"{oid} {ref}\n" + (f"^{peeled}\n" if peeled else ""))
    (path / "packed-refs").write_text("".join(lines))


CPU: dict[str, float] = {}  # argv[0:2] joined -> median CPU (user + sys) of the last timed() call


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes git's own children once reaped
    return ru.ru_utime + ru.ru_stime


def timed(argv: list[str], cwd: Path, runs: int) -> tuple[float, bytes]:
    """Median wall time; the median CPU time (steadier on a shared machine) goes into CPU."""
    times, cpus, out = [], [], b""
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=RUN_ENV)  # warm-up, not timed
    for _ in range(runs):
        c = _children_cpu()
        t = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=RUN_ENV)
        times.append(time.perf_counter() - t)
        cpus.append(_children_cpu() - c)
        out = proc.stdout
    CPU[" ".join(argv[:2])] = statistics.median(cpus)
    return statistics.median(times), out


def breakdown(remote: Path, work: Path, runs: int) -> str:
    """Best-of-runs in-process phases of the status path, to show where the time goes."""
    from planner.registry import Registry
    from planner.state import build_state, parse_ls_remote
    from planner.status import build_status

    def best(f: object) -> tuple[float, object]:
        times, out = [], None
        for _ in range(runs):
            t = time.perf_counter()
            out = f()  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        return min(times) * 1000, out

    argv = ["git", "ls-remote", str(remote), "refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*"]
    t_ls, text = best(lambda: subprocess.run(argv, cwd=work, capture_output=True, check=True).stdout.decode())
    t_parse, refs = best(lambda: parse_ls_remote(text))  # type: ignore[arg-type]
    t_build, state = best(lambda: build_state(str(remote), refs, {}))  # type: ignore[arg-type]
    t_doc, doc = best(lambda: build_status(Registry(), state))  # type: ignore[arg-type]
    t_json, _ = best(lambda: json.dumps(doc, separators=(",", ":")))
    return (
        f"ls-remote {t_ls:.0f} ms, parse {t_parse:.0f} ms, build_state {t_build:.0f} ms, "
        f"build_status {t_doc:.0f} ms, json {t_json:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    planner = Path(sys.executable).parent / "planner"
    with tempfile.TemporaryDirectory(prefix="bench-status-") as d:
        root = Path(d)
        work = root / "work"
        git(root, "init", "-q", str(work))
        startup, _ = timed([sys.executable, "-c", "pass"], root, args.runs)
        startup_cpu = CPU[f"{sys.executable} -c"]
        cli_import, _ = timed([sys.executable, "-c", "import planner.cli"], root, args.runs)
        print(
            f"python start-up {startup * 1000:.0f} ms (CPU {startup_cpu * 1000:.0f} ms), "
            f"+ import planner.cli {cli_import * 1000:.0f} ms"
        )
        print(
            "| tags | components | git ls-remote (ms) | planner status --format json (ms) | ratio "
            "| budget 2x ls-remote + start-up (ms) | CPU: ls-remote / status / budget (ms) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            remote = root / f"remote-{n}.git"
            t = time.perf_counter()
            build_remote(remote, n)
            build = time.perf_counter() - t
            ls, ls_out = timed(
                ["git", "ls-remote", str(remote), "refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*"],
                work,
                args.runs,
            )
            st, out = timed([str(planner), "status", "--format", "json", "--remote", str(remote)], work, args.runs)
            assert ls_out.count(b"\n") == 2 * n, "every tag is annotated: one ref line + one peeled line"
            doc = json.loads(out)
            assert len(doc["components"]) == n // 5, len(doc["components"])
            ls_cpu, st_cpu = CPU["git ls-remote"], CPU[f"{planner} status"]
            budget, budget_cpu = 2 * ls + startup, 2 * ls_cpu + startup_cpu
            print(
                f"| {n} | {n // 5} | {ls * 1000:.0f} | {st * 1000:.0f} | {st / ls:.2f} | {budget * 1000:.0f} "
                f"| {ls_cpu * 1000:.0f} / {st_cpu * 1000:.0f} / {budget_cpu * 1000:.0f} |"
            )
            print(f"  (built in {build:.1f} s; in-process: {breakdown(remote, work, args.runs)})", file=sys.stderr)


if __name__ == "__main__":
    main()
