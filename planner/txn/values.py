"""New KV values come from git: blob ids read in ONE ``git cat-file --batch``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from planner.gitio import GitError, Opt, run_git


def read_blobs_by_id(repo: Path | str, blob_ids: Iterable[str]) -> dict[str, bytes]:
    ids = sorted(set(blob_ids))
    if not ids:
        return {}
    proc = run_git(["cat-file", Opt("--batch")], cwd=repo, input="".join(f"{b}\n" for b in ids).encode())
    data = proc.stdout
    out: dict[str, bytes] = {}
    pos = 0
    for oid in ids:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].decode()
        if header.endswith("missing"):
            raise GitError(f"blob {oid[:12]} is not in this repository (fetch the commits the plan refers to)")
        size = int(header.split()[2])
        out[oid] = data[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
    return out
