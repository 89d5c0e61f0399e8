"""Benchmark: ``planner status --format json`` against a plain ``git ls-remote`` of the same remote.

Builds bare remotes with N annotated tags without one git process per tag: every object is
hashed in Python and written as ONE pack (indexed by one ``git index-pack``), every ref goes into
one ``packed-refs`` file (with peeled lines, as ``git pack-refs`` writes it). env tags are written
as edgit does (staging nested on the version tag object) and as the planner does (production
straight at the commit). Each component gets 3 versions + 2 environments, so N tags = N/5 components. The commands
alternate round by round; `bench/status_floor.py` (a bare stdlib script writing the same document)
shows what CPython can do for this output at all.

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

from planner.gitio import Remote

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


def build_remote(path: Path, n_tags: int, *, shared_commit: bool = True) -> None:
    """A bare remote with ``n_tags`` annotated tags, built in-process: one pack, one packed-refs.

    ``shared_commit``: every version of every component at one commit, so every env tag is
    ambiguous and its tag object must be read (planner/exact.py): the worst case. Otherwise each
    version has its own commit, as releases usually do.

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

    def tag(name: str, target: str, kind: str, msg: str, peeled: str) -> str:
        body = f"object {target}\ntype {kind}\ntag {name}\ntagger {IDENT}\n\n{msg}\n".encode()
        obj = _obj("tag", body)
        objects.append(obj)
        refs[f"refs/tags/{name}"] = (obj[0], peeled)
        return obj[0]

    def commit_for(label: str) -> str:
        if shared_commit:
            return commit[0]
        c = _obj(
            "commit", f"tree {tree[0]}\nparent {commit[0]}\nauthor {IDENT}\ncommitter {IDENT}\n\n{label}\n".encode()
        )
        objects.append(c)
        return c[0]

    for i in range(n_tags // 5):  # 3 versions + 2 environments per component
        ns, name = NAMESPACES[i % len(NAMESPACES)], f"c{i:06d}"
        base = f"components/{ns}/{name}"
        at = {v: commit_for(f"{name} {v}") for v in VERSIONS}
        ids = {v: tag(f"{base}/{v}", at[v], "commit", f"Release {name} {v}", at[v]) for v in VERSIONS}
        # staging nested on the version's tag object, as edgit writes it; production straight at the commit
        tag(f"{base}/staging", ids["v1.1.0"], "tag", f"Set {name} to staging", at["v1.1.0"])
        tag(f"{base}/production", at["v1.0.0"], "commit", f"Set {name} to production", at["v1.0.0"])
    _write_pack(path, objects)
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    for ref in sorted(refs):
        oid, peeled = refs[ref]
        lines.append(f"{oid} {ref}\n" + (f"^{peeled}\n" if peeled else ""))
    (path / "packed-refs").write_text("".join(lines))


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes git's own children once reaped
    return ru.ru_utime + ru.ru_stime


def timed(cmds: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, tuple[float, float, bytes]]:
    """name -> (median wall, median CPU, stdout). The commands alternate round by round, so a
    change in the machine's load hits all of them alike; one untimed warm-up round first."""
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    outs: dict[str, bytes] = {}
    for i in range(runs + 1):
        for name, argv in cmds.items():
            c = _children_cpu()
            t = time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=RUN_ENV)
            if i:
                walls[name].append(time.perf_counter() - t)
                cpus[name].append(_children_cpu() - c)
            outs[name] = proc.stdout
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k]), outs[k]) for k in cmds}


def breakdown(remote: Path, work: Path, runs: int) -> str:
    """Best-of-runs in-process phases of the status path, to show where the time goes (GC off)."""
    import gc

    from planner.gitremote import parse_ls_remote
    from planner.registry import Registry
    from planner.state import build_state
    from planner.status import build_status, dump_json

    def best(f: object) -> tuple[float, object]:
        gc.collect()
        gc.disable()
        times, out = [], None
        for _ in range(runs):
            t = time.perf_counter()
            out = f()  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        gc.enable()
        return min(times) * 1000, out

    argv = ["git", "ls-remote", str(remote), "refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*"]
    t_ls, text = best(lambda: subprocess.run(argv, cwd=work, capture_output=True, check=True).stdout.decode())
    t_state, state = best(lambda: build_state(Remote(str(remote)), parse_ls_remote(text), {}))  # type: ignore[arg-type]
    t_doc, doc = best(lambda: build_status(Registry(), state))  # type: ignore[arg-type]
    t_json, _ = best(lambda: dump_json(doc))  # type: ignore[arg-type]
    return (
        f"ls-remote {t_ls:.0f} ms, snapshot (parse + build) {t_state:.0f} ms, "
        f"build_status {t_doc:.0f} ms, json {t_json:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    planner = Path(sys.executable).parent / "planner"
    floor = Path(__file__).with_name("status_floor.py")
    with tempfile.TemporaryDirectory(prefix="bench-status-") as d:
        root = Path(d)
        work = root / "work"
        git(root, "init", "-q", str(work))
        git(
            work,
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        )
        print(
            "| tags | components | git ls-remote (ms) | python start-up (ms) | planner status --format json (ms) "
            "| budget 2x ls-remote + start-up (ms) | status / budget | stdlib floor (ms) | floor / budget "
            "| other reading: status / 2x(ls-remote + start-up) | CPU: ls-remote / start-up / status / floor (ms) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            remote = root / f"remote-{n}.git"
            t = time.perf_counter()
            build_remote(remote, n)
            build = time.perf_counter() - t
            r = timed(
                {
                    "ls": [
                        "git",
                        "ls-remote",
                        str(remote),
                        "refs/tags/components/*",
                        "refs/tags/logic/*",
                        "refs/planner/*",
                    ],
                    "py": [sys.executable, "-c", "pass"],
                    "status": [str(planner), "status", "--format", "json", "--remote", str(remote)],
                    "floor": [sys.executable, str(floor), str(remote)],
                },
                work,
                args.runs,
            )
            (ls, ls_cpu, ls_out), (py, py_cpu, _), (st, st_cpu, out), (fl, fl_cpu, fl_out) = (
                r["ls"],
                r["py"],
                r["status"],
                r["floor"],
            )
            assert ls_out.count(b"\n") == 2 * n, "every tag is annotated: one ref line + one peeled line"
            doc = json.loads(out)
            assert len(doc["components"]) == n // 5 == len(json.loads(fl_out)["components"])
            budget = 2 * ls + py
            print(
                f"| {n} | {n // 5} | {ls * 1000:.0f} | {py * 1000:.0f} | {st * 1000:.0f} | {budget * 1000:.0f} "
                f"| {st / budget:.2f} | {fl * 1000:.0f} | {fl / budget:.2f} | {st / (2 * (ls + py)):.2f} "
                f"| {ls_cpu * 1000:.0f} / {py_cpu * 1000:.0f} / {st_cpu * 1000:.0f} / {fl_cpu * 1000:.0f} |"
            )
            print(f"  (built in {build:.1f} s; in-process: {breakdown(remote, work, args.runs)})", file=sys.stderr)


if __name__ == "__main__":
    main()
