"""File content at commits, read from git objects in ONE ``git cat-file --batch`` call."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from planner.gitio import GitError, Opt, run_git

__all__ = ["read_blobs", "sha256_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_blobs(repo: object, items: Sequence[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
    """``{(commit, path): bytes}`` for every item; None where the path is absent at that commit
    (or names a tree, or the commit is unknown). One subprocess for any number of items.

    ``repo`` is a path to the repository (``Path`` or ``str``).
    """
    wanted = list(dict.fromkeys(items))
    if not wanted:
        return {}
    lines = []
    for commit, path in wanted:
        if "\n" in path or "\n" in commit or "\r" in path:
            raise GitError(f"refusing to read path {path!r}: it contains a newline")
        # "<rev>:<path>" is parsed by cat-file itself, never by an option parser.
        lines.append(f"{commit}:{path.lstrip('/')}")
    stdin = ("\n".join(lines) + "\n").encode("utf-8")
    proc = run_git(["cat-file", Opt("--batch")], cwd=str(repo), input=stdin)
    out = proc.stdout
    result: dict[tuple[str, str], bytes | None] = {}
    pos = 0
    for item in wanted:
        nl = out.find(b"\n", pos)
        if nl < 0:
            raise GitError("git cat-file --batch ended early")
        header = out[pos:nl].decode("utf-8", "replace")
        pos = nl + 1
        parts = header.split(" ")
        if header.endswith(" missing") or header.endswith(" ambiguous") or len(parts) != 3:
            result[item] = None
            continue
        _oid, kind, size_text = parts
        size = int(size_text)
        body = out[pos : pos + size]
        pos += size + 1  # content is followed by a newline
        result[item] = body if kind == "blob" else None
    return result
