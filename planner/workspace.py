"""The workspace: the repository a command runs in, found from any directory inside it.

Found as git finds it: walk up from the start directory to the first ``.git`` (a directory, or a
file ``gitdir: ...`` in a linked worktree or a submodule). Every path the planner owns resolves
from the top level it finds (``planner.toml``, the registry, wrangler files); ``.planner/`` (journal,
lock, SQLite KV) is one per *repository*: linked worktrees share the main worktree's, as they share
its refs. Paths a user typed (plan files, ``-o``) stay relative to where they were typed.

Standard library only: it runs before any command has decided what it needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".planner"


class WorkspaceProblem(ValueError):
    """The directory is not usable as a workspace; ``str(exc)`` is one sentence for the user."""


@dataclass(frozen=True)
class Workspace:
    """A git work tree: its top level, its git directory and the repository's common git directory."""

    root: Path  # top level of this work tree
    git_dir: Path  # this work tree's git directory (``.git``, or ``.git/worktrees/NAME``)
    common_dir: Path  # the repository's git directory, shared by every linked worktree

    @property
    def state_dir(self) -> Path:
        """``.planner/`` of the repository: the main worktree's, whichever worktree runs."""
        if self.common_dir.name == ".git":
            return self.common_dir.parent / STATE_DIR_NAME
        return self.common_dir / "planner"  # a separate git dir (``--separate-git-dir``): keep it there


def _looks_like_git_dir(path: str) -> bool:
    return (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(path, "objects"))
        and os.path.isdir(os.path.join(path, "refs"))
    )


def _read_gitfile(dot_git: str) -> str:
    """The git directory a ``.git`` file names (``gitdir: PATH``, relative to the file's directory)."""
    try:
        with open(dot_git, encoding="utf-8") as fh:
            first = fh.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceProblem(f"cannot read {dot_git}: {exc}") from None
    if not first.startswith("gitdir:"):
        raise WorkspaceProblem(f"{dot_git} is not a git link file (expected 'gitdir: PATH')")
    target = os.path.join(os.path.dirname(dot_git), first[len("gitdir:") :].strip())
    if not os.path.isdir(target):
        raise WorkspaceProblem(f"{dot_git} points at {target}, which does not exist (a moved or pruned worktree?)")
    return os.path.realpath(target)


def _common_dir(git_dir: str) -> str:
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as fh:
            return os.path.realpath(os.path.join(git_dir, fh.readline().strip()))
    except FileNotFoundError:
        return git_dir
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceProblem(f"cannot read {git_dir}/commondir: {exc}") from None


def find_workspace(start: str | os.PathLike[str] = ".") -> Workspace:
    """The work tree containing ``start``; raises WorkspaceProblem with one sentence otherwise."""
    shown = os.fspath(start)
    if not os.path.exists(start):
        raise WorkspaceProblem(f"{shown} is not a git repository (no such directory)")
    if not os.path.isdir(start):
        raise WorkspaceProblem(f"{shown} is not a git repository (it is a file, not a directory)")
    here = os.path.realpath(start)
    while True:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            git_dir = dot_git
            break
        if os.path.isfile(dot_git):
            git_dir = _read_gitfile(dot_git)
            break
        if _looks_like_git_dir(here):
            if os.path.basename(here) == ".git":
                raise WorkspaceProblem(f"{shown} is inside a .git directory: run the planner in the work tree")
            raise WorkspaceProblem(
                f"{shown} is a bare git repository: the planner needs a work tree (git clone {shown} DIR)"
            )
        parent = os.path.dirname(here)
        if parent == here:
            raise WorkspaceProblem(f"{shown} is not inside a git repository (no .git here or in any parent directory)")
        here = parent
    return Workspace(Path(here), Path(git_dir), Path(_common_dir(git_dir)))


def has_commits(ws: Workspace) -> bool:
    """Whether HEAD names a commit (an unborn branch in a fresh ``git init`` does not)."""
    try:
        with open(ws.git_dir / "HEAD", encoding="utf-8") as fh:
            head = fh.readline().strip()
    except (OSError, UnicodeDecodeError):
        return False
    if not head.startswith("ref:"):
        return bool(head)  # detached: HEAD holds an object id
    if (ws.common_dir / "reftable").is_dir():
        return True  # refs git keeps in a reftable cannot be read here; git itself will tell
    ref = head[len("ref:") :].strip()
    if (ws.common_dir / ref).is_file():
        return True
    try:
        with open(ws.common_dir / "packed-refs", encoding="utf-8") as fh:
            return any(line.rstrip("\n").endswith(" " + ref) for line in fh if not line.startswith(("#", "^")))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True  # unreadable here: let git report it


def open_workspace(start: str | os.PathLike[str] = ".", *, need_commits: bool = True) -> Workspace:
    """``find_workspace`` plus the check that the repository has a commit (the commands that read it)."""
    ws = find_workspace(start)
    if need_commits and not has_commits(ws):
        raise WorkspaceProblem(
            f"the repository at {ws.root} has no commits yet: commit the registry (.edgit/components.json) first"
        )
    return ws


def repo_root(start: str | os.PathLike[str] = ".") -> tuple[Path | None, str | None]:
    """(top level, None) for ``--repo``, or (None, the sentence why not): the one rule of every
    command that reads the repository, the status fast path included."""
    try:
        return open_workspace(start).root, None
    except WorkspaceProblem as exc:
        return None, str(exc)


def inside_top_level(root: str | os.PathLike[str], configured: str) -> Path | None:
    """``configured`` (a path from planner.toml, relative to the top level ``root``) resolved with
    every symlink, or None when it leaves the top level or points into ``.git``: a config value
    must never make the planner write outside the repository or over git's own files."""
    top = os.path.realpath(root)
    full = os.path.realpath(os.path.join(top, configured))
    if os.path.commonpath([top, full]) != top or full == top:
        return None
    if os.path.relpath(full, top).split(os.sep)[0] == ".git":
        return None
    return Path(full)


def state_dir(repo: str | os.PathLike[str]) -> Path:
    """The repository's ``.planner/`` for a top level (``repo/.planner`` outside git, as before)."""
    try:
        return find_workspace(repo).state_dir
    except WorkspaceProblem:
        return Path(repo) / STATE_DIR_NAME
