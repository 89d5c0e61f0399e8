"""Options shared by every command: ``--repo`` and ``--remote`` are checked here, in one place.

Checks run as Typer callbacks, before the command body, so a file or a missing directory given as
``--repo`` fails with one clear message and nothing is created; a ``--remote`` that git would hand
to a transport helper (``fd::``, ``ext::``) is refused before git runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planner.errors import PlannerError


def require_dir(path: Path) -> Path:
    """``--repo`` must be an existing directory (commands that also work outside git)."""
    from planner.gitproc import dir_problem

    problem = dir_problem(path)
    if problem is not None:
        raise PlannerError(problem)
    return path


def require_git_repo(path: Path) -> Path:
    """``--repo`` must be a directory inside a git work tree (``.git`` here or in a parent)."""
    from planner.gitproc import work_tree_problem  # the same rule as the status fast path's

    problem = work_tree_problem(path)
    if problem is not None:
        raise PlannerError(problem)
    return path


def check_remote_opt(remote: str | None) -> str | None:
    from planner.gitio import check_remote

    return None if remote is None else check_remote(remote)


RepoDirOpt = Annotated[Path, typer.Option("--repo", help="Repository root.", callback=require_dir)]
RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository root (a git repository).", callback=require_git_repo)]
RemoteOpt = Annotated[
    str | None,
    typer.Option(
        "--remote", help="Remote name, URL or path (default: planner.toml, else origin).", callback=check_remote_opt
    ),
]
