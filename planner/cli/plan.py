"""``planner plan`` (the dry run) and ``planner show`` (render a saved plan.json)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RenderFormat, RepoDirOpt, RepoOpt
from planner.errors import EXIT_CHANGES, EXIT_OK, PlannerError

RenderFormatOpt = Annotated[RenderFormat, typer.Option("--format", help="Output format.")]


@app.command()
def plan(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="The plan file (plans/*.plan).")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Save the plan artifact (plan.json) here.")] = None,
    fmt: RenderFormatOpt = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes, 0 when none.")
    ] = False,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Show every change a plan would make (the dry run).

    PLAN is compiled against the remote's tags and the KV stores; nothing is changed.
    """
    from planner.plan.run import run_plan

    result = run_plan(plan_file, repo=repo, remote=remote)
    _emit(result.render(fmt, color_stream=sys.stdout))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(result.render("markdown") + "\n")
        except OSError as exc:
            raise PlannerError(f"cannot append to GITHUB_STEP_SUMMARY ({summary}): {exc.strerror}") from None
    if result.violations:
        from planner.policy import raise_if_blocked

        raise_if_blocked(result.violations, stage="plan")
    if out is not None:
        from planner.artifact import dump
        from planner.fileio import write_text_file

        write_text_file(out, dump(result.plan))
        print(f"plan saved to {out} (plan {result.plan.plan_id[:12]})", file=sys.stderr)  # the id as shown everywhere
    if detailed_exitcode:
        raise typer.Exit(EXIT_CHANGES if result.plan.has_changes else EXIT_OK)


@app.command()
def show(
    plan_json: Annotated[Path, typer.Argument(metavar="PLAN_JSON", help="A plan.json written by `planner plan -o`.")],
    fmt: RenderFormatOpt = "text",
    repo: RepoDirOpt = Path("."),
) -> None:
    """Render a saved plan.json."""
    from planner.plan.run import load_plan_file, rendered

    saved = load_plan_file(plan_json)
    _emit(rendered(saved, fmt, repo=repo, color_stream=sys.stdout))


def _emit(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
