"""Revisions a plan names (``create C v1.2.0 at main``), resolved as CI checks them out.

``actions/checkout`` makes a shallow clone with a detached HEAD and, on a pull request, no local
branch at all: ``main`` does not resolve locally. Then the remote's branch of that name is used
(``ls-remote``), and its commit fetched if this checkout lacks it, so its files can be read.
Each step is ONE git process for all the names of a plan.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from planner.gitio import GitError, Opt, Remote, Repo

_OID = re.compile(r"[0-9a-f]{40,64}")


def local_commits(repo: Repo, refs: Sequence[str]) -> dict[str, str | None]:
    """{ref: commit or None} from the checkout alone (branches, tags, commits, ``HEAD~2``...)."""
    if not refs:
        return {}
    data = "".join(f"{r}^{{commit}}\n" for r in refs).encode()
    proc = repo.run(["cat-file", Opt("--batch-check=%(objectname) %(objecttype)")], input=data)
    out: dict[str, str | None] = {}
    for r, line in zip(refs, proc.stdout.decode("utf-8", "replace").splitlines(), strict=False):
        oid, _, kind = line.partition(" ")
        out[r] = oid if kind == "commit" and _OID.fullmatch(oid) else None
    return out


def remote_branch_commits(repo: Repo, remote: Remote, names: Sequence[str]) -> dict[str, str]:
    """{name: commit} for the names that are branches on the remote (``main``, ``release/next``),
    their commits fetched into this checkout when it lacks them. Names that are not are left out."""
    heads = {f"refs/heads/{n}": n for n in names if not n.startswith(("refs/", "-")) and not _OID.fullmatch(n)}
    if not heads:
        return {}
    listed = repo.ls_remote(remote, list(heads))  # patterns match by tail: keep the exact names
    found = {heads[ref]: oid for ref, (oid, _) in listed.items() if ref in heads and _OID.fullmatch(oid)}
    have = local_commits(repo, list(found.values()))
    fetch = sorted({f"refs/heads/{n}" for n, oid in found.items() if have.get(oid) is None})
    if fetch:
        shallow = repo.run(["rev-parse", Opt("--is-shallow-repository")]).stdout.strip() == b"true"
        depth = [Opt("--depth=1")] if shallow else []  # a shallow clone stays shallow; a full one stays full
        try:
            repo.run(
                ["fetch", Opt("--quiet"), Opt("--no-tags"), Opt("--no-write-fetch-head"), *depth, remote.spec, *fetch],
            )
        except GitError as exc:
            raise GitError(
                f"cannot fetch {', '.join(fetch)} from the remote to read its files: {exc.message}"
            ) from None
    return found


def branch_names(repo: Repo, remote: Remote | None) -> list[str]:
    """Branch names, for a did-you-mean after a name that did not resolve (``at mian``): the
    checkout's own and the remote's (a CI checkout has none of its own). Only on that error path;
    a git failure here yields fewer names, never a second error."""
    names: set[str] = set()
    reads: list[list[str | Opt]] = [["for-each-ref", Opt("--format=%(refname)"), "refs/heads"]]
    if remote is not None:
        reads.append(["ls-remote", Opt("--heads"), remote.spec])
    for argv in reads:
        try:
            out = repo.text(argv)
        except (GitError, OSError):
            continue
        for line in out.splitlines():
            ref = line.rpartition("\t")[2]
            if ref.startswith("refs/heads/"):
                names.add(ref.removeprefix("refs/heads/"))
    return sorted(names)
