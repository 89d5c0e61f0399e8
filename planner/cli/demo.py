"""``planner demo``: build a throw-away component repository and show ``planner status`` for it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app


@app.command()
def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the demo in this (new or empty) directory and keep it.")
    ] = None,
) -> None:
    """Build a demo repository (edgit tags, a bare remote) in a temp dir and print its status."""
    from planner.cli import run
    from planner.demo import build_demo_repo
    from planner.errors import PlannerError

    def show(root: Path) -> int:
        d = build_demo_repo(root)
        print(f"demo repository: {d.work} (remote: {d.remote})", file=sys.stderr)
        print(f"$ planner status --repo {d.work}", file=sys.stderr)
        sys.stdout.flush()
        code = run(["status", "--repo", str(d.work)])
        if code:
            return code
        from planner.demo_plan import plan_demo

        code = plan_demo(d.work)
        return 0 if code == 2 else code  # 2 = "changes present", the expected outcome here

    if keep is not None:
        if keep.exists() and any(keep.iterdir()):
            raise PlannerError(f"--keep {keep}: directory is not empty")
        code = show(keep)
    else:
        with tempfile.TemporaryDirectory(prefix="planner-demo-") as tmp:
            code = show(Path(tmp))
    if code:
        raise typer.Exit(code)
