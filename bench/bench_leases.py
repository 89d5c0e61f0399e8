"""Lease scaling: git's CLI (one --force-with-lease per ref) vs planner.txn.push (hook + wildcard).

Run: .venv/bin/python bench/bench_leases.py 1000 4000
Each case moves N existing tags on a bare path remote in one atomic push.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.gitio import Remote, Repo
from planner.txn.push import NewTag, RefUpdate, atomic_push, write_tag_objects
from tests.gitrepo import EdgitRepo, git


def setup(root: Path, n: int) -> tuple[EdgitRepo, str, dict[str, str], dict[str, str]]:
    repo = EdgitRepo.create(root)
    c1 = repo.commit("one")
    c2 = repo.commit("two")
    refs = [f"refs/tags/components/prompts/p{i}/staging" for i in range(n)]
    old = write_tag_objects(Repo(repo.work), [NewTag(r, c1, "Set p to staging") for r in refs])
    git(repo.work, "update-ref", "--stdin", input="".join(f"update {r} {o}\n" for r, o in old.items()).encode())
    git(repo.work, "push", "-q", "origin", "main", "refs/tags/*:refs/tags/*")
    new = write_tag_objects(Repo(repo.work), [NewTag(r, c2, "Set p to staging") for r in refs])
    return repo, c2, old, new


def cli_leases(repo: EdgitRepo, old: dict[str, str], new: dict[str, str]) -> float:
    # new objects need local refs for CLI refspecs: push <oid>:<ref> directly
    args = ["git", "push", "--atomic", "--porcelain", "origin"]
    args += [f"--force-with-lease={r}:{old[r]}" for r in old]
    args += [f"{new[r]}:{r}" for r in old]
    t = time.monotonic()
    subprocess.run(args, cwd=repo.work, check=True, capture_output=True)
    return time.monotonic() - t


def forced_plain(repo: EdgitRepo, old: dict[str, str], new: dict[str, str]) -> float:
    args = ["git", "push", "--atomic", "--porcelain", "origin", *[f"+{new[r]}:{r}" for r in old]]
    t = time.monotonic()
    subprocess.run(args, cwd=repo.work, check=True, capture_output=True)
    return time.monotonic() - t


def ours(repo: EdgitRepo, old: dict[str, str], new: dict[str, str]) -> float:
    t = time.monotonic()
    atomic_push(Repo(repo.work), Remote("origin"), [RefUpdate(r, old[r], new[r]) for r in old])
    return time.monotonic() - t


def main() -> None:
    for n in [int(a) for a in sys.argv[1:]] or [1000, 4000]:
        row = {}
        for name, fn in (
            ("cli --force-with-lease", cli_leases),
            ("forced refspecs, no check", forced_plain),
            ("planner hook+wildcard", ours),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                repo, _c2, old, new = setup(Path(tmp), n)
                row[name] = fn(repo, old, new)
                assert repo.remote_refs()[next(iter(old))] == new[next(iter(old))]
        print(n, {k: round(v, 2) for k, v in row.items()}, flush=True)


if __name__ == "__main__":
    main()
