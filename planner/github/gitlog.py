"""Which plan files a pull request adds or changes, and which were merged to main in which order.

Plan files are ``plans/**.plan``. Merge order is the first-parent history of main: each commit on
it is one merge (or squash, or direct push), and a commit's plan files are those it adds or
changes against its first parent, in path order.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.fileio import decode_utf8
from planner.gitio import GitError, Opt, Repo

PLANS_DIR = "plans/"


def is_plan(path: str) -> bool:
    return path.startswith(PLANS_DIR) and path.endswith(".plan")


def changed_plans(repo: Repo, base: str, head: str) -> list[str]:
    """Plan files added or modified on the pull request: ``base...head`` (from the merge base)."""
    out = repo.text(
        [
            "diff",
            Opt("-z"),
            Opt("--name-only"),
            Opt("--no-renames"),
            Opt("--diff-filter=AM"),
            f"{base}...{head}",
            Opt("--"),
            PLANS_DIR,
        ],
    )
    return sorted(p for p in out.split("\0") if is_plan(p))


@dataclass(frozen=True)
class Merged:
    commit: str
    path: str


def merged_plans(repo: Repo, head: str, after: str | None) -> list[Merged]:
    """Plan files added or changed by each first-parent commit of ``head`` after ``after`` (all
    history when None), oldest first. One git process."""
    rng = [head] if after is None else [head, f"^{after}"]
    out = repo.text(
        [
            "log",
            Opt("-z"),  # paths as they are (no quoting of unusual names)
            Opt("--first-parent"),
            Opt("--reverse"),
            Opt("--no-renames"),
            Opt("--diff-merges=first-parent"),
            Opt("--diff-filter=AM"),
            Opt("--name-only"),
            Opt("--format=%x01%H"),
            *rng,
            Opt("--"),
            PLANS_DIR,
        ],
    )
    found: list[Merged] = []
    for chunk in out.split("\x01")[1:]:
        commit, _, names = chunk.partition("\0")
        paths = {p.lstrip("\n") for p in names.split("\0")}
        found.extend(Merged(commit.strip(), p) for p in sorted(p for p in paths if is_plan(p)))
    return found


def is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    proc = repo.run(["merge-base", Opt("--is-ancestor"), older, newer], check=False)
    return proc.returncode == 0


def has_commit(repo: Repo, commit: str) -> bool:
    return repo.run(["cat-file", Opt("-e"), f"{commit}^{{commit}}"], check=False).returncode == 0


def read_at(repo: Repo, commit: str, path: str) -> str:
    """The file as committed (not the work tree): what was reviewed and merged."""
    proc = repo.run(["cat-file", "blob", f"{commit}:{path}"], check=False)
    if proc.returncode != 0:
        raise GitError(f"{path} is not in commit {commit[:12]}")
    return decode_utf8(path, proc.stdout)
