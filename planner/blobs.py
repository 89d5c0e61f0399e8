"""Batched reads of file bytes at commits: ONE ``git cat-file --batch`` per call.

The dry run reads the registry at each target commit, then the component files, from git
objects only (never the working tree). Requests go on stdin, so a hostile path can never become
a git option; paths with a newline cannot be expressed in the batch protocol and are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from planner.errors import PlannerError
from planner.gitio import Opt, run_git


class BlobError(PlannerError):
    """A batched object read failed or answered something unexpected."""


@dataclass(frozen=True)
class Blob:
    oid: str  # git blob id
    data: bytes  # exact bytes: binary-safe, trailing newlines kept


def read_files(repo: Path | str, requests: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Blob | None]:
    """``{(commit, path): Blob}`` for every request; None where the path does not exist at the commit.

    Duplicates are read once. An empty request list starts no process.
    """
    wanted = sorted(set(requests))
    if not wanted:
        return {}
    for commit, path in wanted:
        if "\n" in path or "\r" in path or "\n" in commit:
            raise BlobError(f"cannot read {path!r}: a path with a line break is not supported")
    stdin = b"".join(f"{commit}:{path}\n".encode() for commit, path in wanted)
    proc = run_git(["cat-file", Opt("--batch")], cwd=repo, input=stdin)
    out = proc.stdout
    result: dict[tuple[str, str], Blob | None] = {}
    pos = 0
    for req in wanted:
        eol = out.find(b"\n", pos)
        if eol < 0:
            raise BlobError("git cat-file --batch ended early")
        header = out[pos:eol].decode("utf-8", "replace")
        pos = eol + 1
        parts = header.split(" ")
        if len(parts) == 3 and parts[2].isdigit():
            oid, kind, size = parts[0], parts[1], int(parts[2])
            data = out[pos : pos + size]
            pos += size + 1  # content is followed by one LF
            # A directory (tree) at the path is not a file: treat like a missing file.
            result[req] = Blob(oid, data) if kind == "blob" else None
        elif header.endswith(" missing") or header.endswith(" ambiguous"):
            result[req] = None
        else:
            raise BlobError(f"unexpected answer from git cat-file --batch: {header!r}")
    return result
