"""Apply 1,000 tag moves + 1,000 KV keys in one transaction; compare with a plain atomic push.

Run: .venv/bin/python bench/bench_apply.py [N] [REPEATS]
Prints the apply time, git pushes, KV requests, and the time of a plain
`git push --atomic origin +<new>:<ref>...` (no leases) and of git's CLI leases for the same refs.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.gitio import Repo
from planner.kv.sqlite import SqliteKV
from planner.plan.changes import ComputedPlan, KVChange, TagChange
from planner.txn.engine import apply_plan
from planner.txn.push import NewTag, write_tag_objects
from tests.gitrepo import EdgitRepo, git


class Target:
    def __init__(self, store: SqliteKV) -> None:
        self.store = store
        self.layouts = ("{type}/{name}@{slot}",)


def setup(root: Path, n: int) -> tuple[EdgitRepo, ComputedPlan, dict[str, str]]:
    repo = EdgitRepo.create(root)
    for i in range(n):
        repo.write(f"prompts/p{i}.md", f"old {i}\n")
    c1 = repo.commit("old")
    for i in range(n):
        repo.write(f"prompts/p{i}.md", f"new {i}\n")
    c2 = repo.commit("new")
    refs = [f"refs/tags/components/prompts/p{i}/staging" for i in range(n)]
    old = write_tag_objects(Repo(repo.work), [NewTag(r, c1, f"Set p{i} to staging") for i, r in enumerate(refs)])
    git(repo.work, "update-ref", "--stdin", input="".join(f"update {r} {o}\n" for r, o in old.items()).encode())
    repo.push()
    blobs = dict(
        line.split(" ", 1)[::-1]
        for line in git(repo.work, "ls-tree", "-r", "--format=%(objectname) %(path)", c2, "prompts/").splitlines()
    )
    tags = tuple(
        TagChange(f"move p{i}", r, "move", old[r], c1, "v1.0.0", c2, "v1.1.0", f"Set p{i} to staging", 0)
        for i, r in enumerate(refs)
    )
    store = SqliteKV(root / "kv.sqlite", "staging")
    from planner.kv.base import KVEntry

    store.put_many([KVEntry(f"prompts/p{i}@staging", f"old {i}\n".encode()) for i in range(n)])
    kv = tuple(
        KVChange(
            f"move p{i}",
            "staging",
            f"prompts/p{i}@staging",
            "project",
            f"prompts/p{i}",
            "staging",
            hashlib.sha256(f"old {i}\n".encode()).hexdigest(),
            hashlib.sha256(f"new {i}\n".encode()).hexdigest(),
            len(f"new {i}\n"),
            blobs[f"prompts/p{i}.md"],
            f"prompts/p{i}.md",
            c2,
            False,
            0,
        )
        for i in range(n)
    )
    plan = ComputedPlan(1, "bench", "", "bench.plan", "0" * 64, str(repo.remote), None, (), (), tags, kv, (), ())
    return repo, plan, old


def plain_push(repo: EdgitRepo, refs: list[str], c2: str, lease: dict[str, str] | None) -> float:
    new = write_tag_objects(Repo(repo.work), [NewTag(r, c2, "x") for r in refs])
    args = ["git", "push", "--atomic", "--porcelain", "origin"]
    if lease:
        args += [f"--force-with-lease={r}:{lease[r]}" for r in refs]
    args += [f"+{new[r]}:{r}" for r in refs]
    t = time.monotonic()
    subprocess.run(args, cwd=repo.work, check=True, capture_output=True)
    return time.monotonic() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    ours, plain, leases = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            repo, plan, old = setup(Path(tmp), n)
            targets = {"staging": Target(SqliteKV(Path(tmp) / "kv.sqlite", "staging"))}
            res = apply_plan(plan, repo=repo.work, remote=str(repo.remote), targets=targets)
            assert res.status == "applied" and res.tags_changed == n
            ours.append(res.seconds)
            print(f"apply: {res.seconds:.2f} s, git pushes {res.pushes}, KV requests {res.kv_requests}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            repo, plan, old = setup(Path(tmp), n)
            plain.append(plain_push(repo, list(old), plan.tags[0].new_commit, None))
        with tempfile.TemporaryDirectory() as tmp:
            repo, plan, old = setup(Path(tmp), n)
            leases.append(plain_push(repo, list(old), plan.tags[0].new_commit, old))
    mo, mp, ml = statistics.median(ours), statistics.median(plain), statistics.median(leases)
    print(f"N={n} repeats={repeats}")
    print(f"planner apply (tags + ledger + {n} KV keys, journaled): median {mo:.2f} s")
    print(f"plain git push --atomic (forced, no checks):            median {mp:.2f} s  (apply/plain {mo / mp:.2f})")
    print(f"git push --atomic with one --force-with-lease per ref:  median {ml:.2f} s  (apply/leases {mo / ml:.2f})")


if __name__ == "__main__":
    main()
