"""Options shared by every command: ``--repo`` and ``--remote`` are checked here, in one place.

Checks run as Typer callbacks, before the command body, so a file or a missing directory given as
``--repo`` fails with one clear message and nothing is created; a ``--remote`` that git would hand
to a transport helper (``fd::``, ``ext::``) is refused before git runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from planner.errors import PlannerError


def require_dir(path: Path) -> Path:
    """``--repo`` for commands that also work outside git: an existing directory; inside a git
    work tree, its top level (so the same files are read from any subdirectory)."""
    from planner.gitio import dir_problem
    from planner.workspace import WorkspaceProblem, find_workspace

    problem = dir_problem(path)
    if problem is not None:
        raise PlannerError(problem)
    try:
        return find_workspace(path).root
    except WorkspaceProblem:
        return path


def require_git_repo(path: Path) -> Path:
    """``--repo`` (default: the current directory) must be inside a git work tree with a commit;
    the command then runs at its top level, whichever subdirectory it was started from."""
    from planner.workspace import repo_root

    root, problem = repo_root(path)
    if root is None:
        raise PlannerError(problem or f"{path} is not a git repository")
    return root


def check_remote_opt(remote: str | None) -> str | None:
    from planner.gitio import check_remote

    return None if remote is None else check_remote(remote)


RepoDirOpt = Annotated[
    Path, typer.Option("--repo", help="A directory in the repository (default: here).", callback=require_dir)
]
RepoOpt = Annotated[
    Path,
    typer.Option("--repo", help="A directory in the git repository (default: here).", callback=require_git_repo),
]
RemoteOpt = Annotated[
    str | None,
    typer.Option(
        "--remote", help="Remote name, URL or path (default: planner.toml, else origin).", callback=check_remote_opt
    ),
]

# The enumerated --format values. As Literal types Typer lists them in --help (`<text|json>`),
# completes them, and rejects anything else with one usage message for every command.
TextOrJson = Literal["text", "json"]
TextOrGithub = Literal["text", "github"]
RenderFormat = Literal["text", "markdown", "json"]
GraphFormat = Literal["text", "dot", "mermaid"]

FormatOpt = Annotated[TextOrJson, typer.Option("--format", help="Output format (json: on stdout alone).")]
EnvOpt = Annotated[str | None, typer.Option("--env", help="Only this environment.")]
