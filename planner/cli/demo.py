"""``planner demo``: build a throw-away component repository, then plan, apply and inspect a release."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app, run


@app.command()
def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the demo in this (new or empty) directory and keep it.")
    ] = None,
) -> None:
    """Build a demo repository and run a release against it.

    edgit tags, a bare remote and a SQLite KV store; then plan, apply and inspect a release.
    """
    from planner.demo import build_demo_repo
    from planner.errors import PlannerError

    def show(root: Path) -> int:
        from planner.demo_plan import walkthrough

        return walkthrough(build_demo_repo(root), run)

    if keep is not None:
        if keep.exists() and not keep.is_dir():
            raise PlannerError(f"--keep {keep}: is not a directory")
        if keep.exists() and any(keep.iterdir()):
            raise PlannerError(f"--keep {keep}: directory is not empty")
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlannerError(f"--keep {keep}: cannot create the directory: {exc.strerror}") from None
        code = show(keep)
    else:
        with tempfile.TemporaryDirectory(prefix="planner-demo-") as tmp:
            code = show(Path(tmp))
    if code:
        raise typer.Exit(code)
