"""``planner rollback COMPONENT --env ENV [--to VERSION] [-o FILE]``: write an inverse plan for review.

Nothing is applied: the one-statement plan is compiled against the remote (so a plan that would
not compile is never written), its dry run is printed, and the file is written for a pull request.
Without ``--to`` the target comes from the release ledger (where ENV pointed before its last
move) and is written out as an explicit version, so reviewers see it and `planner plan` needs no
ledger to compile it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import RemoteOpt, RepoOpt
from planner.errors import PlannerError
from planner.gitio import Remote, Repo


def previous_version(repo: Path, remote: str, component: str, env: str) -> str:
    """The version ``component``'s ``env`` pointed at before its last recorded move."""
    from planner.model import ComponentRef
    from planner.txn.ledger import LedgerEnvHistory, history

    ref = ComponentRef.parse(component)
    target = LedgerEnvHistory(history(Repo(repo), Remote(remote), component=str(ref), env=env)).previous_target(
        ref, env
    )
    if target is None:
        raise PlannerError(
            f"the release ledger records no previous target of {ref} in {env} (never moved by an apply, "
            "or it did not exist before): pass --to VERSION"
        )
    commit, version = target
    if version is None:
        raise PlannerError(
            f"before its last move, {ref} in {env} pointed at commit {commit[:12]}, which has no version tag: "
            "create a version there, or pass --to VERSION"
        )
    return str(version)


def rollback_text(component: str, env: str, version: str, *, resolved: bool) -> str:
    why = " (its previous target, from the release ledger)" if resolved else ""
    return (
        f"# Roll back {component} in {env} to {version}{why}.\n"
        "# Written by `planner rollback` for review: `planner plan` it, then `planner apply` it.\n"
        f'plan "rollback-{component.replace("/", "-")}-{env}" {{\n'
        f"  rollback {component} in {env} to {version}\n"
        "}\n"
    )


@app.command()
def rollback(
    component: Annotated[str, typer.Argument(metavar="COMPONENT", help="type/name, e.g. prompts/extraction")],
    env: Annotated[str, typer.Option("--env", help="The environment to roll back.")],
    to: Annotated[
        str | None, typer.Option("--to", help="The version (default: the previous target, from the ledger).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Where to write it (default: plans/rollback-TYPE-NAME-ENV.plan).")
    ] = None,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Write a rollback plan for review (nothing is applied).

    The plan is checked and its dry run printed before the file is written.
    """
    from planner.cli.apply import _remote, compile_and_plan, show_dry_run
    from planner.model import ComponentRef, Version, validate_env

    # Validated before they go into plan text or a file name (names are hostile).
    ref, env = str(ComponentRef.parse(component)), validate_env(env)
    version = str(Version.parse(to)) if to is not None else None
    rem = _remote(repo, remote)
    if version is None:
        version = previous_version(repo, rem, ref, env)
    text = rollback_text(ref, env, version, resolved=to is None)
    file = out if out is not None else repo / "plans" / f"rollback-{ref.replace('/', '-')}-{env}.plan"
    plan = compile_and_plan(text, str(file), repo=repo, remote=rem)  # refuses (with positions) if it cannot apply
    show_dry_run(plan, repo)
    from planner.fileio import write_text_file

    write_text_file(file, text, parents=True)
    note = "" if plan.has_changes else f" ({ref} in {env} is already at {version}: it changes nothing)"
    print(f"rollback plan written to {file}{note}; review it, then `planner apply {file}`", file=sys.stderr)
