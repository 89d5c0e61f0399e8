"""``planner apply``, ``recover``, ``history``, ``revert`` and edgit-style ``promote``.

Each body: build the inputs, call planner.txn, map the result to an exit code. Progress and logs
go to stderr (a rich progress display on a TTY, plain lines otherwise); JSON on stdout alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.app import app
from planner.cli.confirm import confirm_apply
from planner.cli.options import EnvOpt, FormatOpt, RemoteOpt, RepoOpt
from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.plan.changes import ComputedPlan
from planner.policy import Invocation

AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", help="Apply without asking (needed when stdin is not a terminal).")
]


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """On a TTY: each step as a clean line, under a spinner showing the current one (rich's
    ``console.log`` would add a timestamp and a link to this file to every line). Otherwise
    plain ``planner: ...`` lines, for logs and scripts."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.text import Text

        from planner.errors import printable

        console = Console(stderr=True, highlight=False)
        with console.status("applying", spinner="dots") as status:

            def log(msg: str) -> None:
                line = Text(f"  {printable(msg)}")  # Text: no markup or emoji codes read from a name
                console.print(line)
                status.update(Text(printable(msg)))

            yield log
    else:

        def plain(msg: str) -> None:
            print(f"planner: {msg}", file=sys.stderr, flush=True)

        yield plain


def stores_of(repo: Path) -> Callable[[Sequence[str]], Mapping[str, Any]]:
    """The KV targets of some environments, opened from the repository's config (none: no config read)."""

    def open_for(envs: Sequence[str]) -> Mapping[str, Any]:
        from planner.config import load_config
        from planner.kv.bindings import open_stores

        return open_stores(load_config(repo), sorted(envs)) if envs else {}

    return open_for


def _targets(repo: Path, plan: ComputedPlan) -> Mapping[str, Any]:
    return stores_of(repo)(sorted({k.namespace for k in plan.kv}))


def _remote(repo: Path, remote: str | None) -> str:
    from planner.config import load_config

    return remote or load_config(repo).remote


def compile_and_plan(
    text: str,
    filename: str,
    *,
    repo: Path,
    remote: str,
    invocation: Invocation | None = None,
    source_name: str | None = None,
) -> ComputedPlan:
    """Plan source -> ComputedPlan through the same pipeline as `planner plan`, with the policies
    checked as at apply time (``invocation``: a plan file applied directly by default)."""
    from planner.plan.run import plan_source
    from planner.policy import raise_if_blocked

    run = plan_source(
        text,
        filename,
        repo=repo,
        remote=remote,
        source_name=source_name,
        invocation=invocation or Invocation(saved_plan=False, require_id=False),
        stage="apply",
    )
    raise_if_blocked(run.violations, stage="apply")
    return run.plan


def policy_precheck(
    plan: ComputedPlan, *, repo: Path, remote: str, invocation: Invocation
) -> Callable[[Mapping[str, tuple[str, str]]], None]:
    """The policies again at apply time, against the remote as ``apply_plan`` reads it under its
    lock (the read its stale check uses): exit 3 before any change."""

    def check_now(remote_refs: Mapping[str, tuple[str, str]]) -> None:
        from planner.config import load_config
        from planner.plan.run import ledger_history
        from planner.policy import check, raise_if_blocked
        from planner.state import build_state

        rem = Remote(remote)
        state = build_state(rem, remote_refs)
        violations = check(
            plan,
            state=state,
            config=load_config(repo),
            history=ledger_history(Repo(repo), rem, state.ledger),
            invocation=invocation,
            stage="apply",
        )
        raise_if_blocked(violations, stage="apply")

    return check_now


def _run_apply(
    plan: ComputedPlan,
    repo: Path,
    remote: str,
    require_id: str | None,
    fmt: str = "text",
    *,
    invocation: Invocation | None = None,
) -> None:
    from planner.rebuild import report, write_github_output
    from planner.txn.engine import apply_plan
    from planner.txn.result import result_json

    with _progress() as log:
        inv = invocation or Invocation(saved_plan=False, require_id=require_id is not None)
        result = apply_plan(
            plan,
            repo=repo,
            remote=remote,
            targets=_targets(repo, plan),
            require_id=require_id,
            progress=log,
            precheck=policy_precheck(plan, repo=repo, remote=remote, invocation=inv),
        )
    if result.status == "noop":
        print("already applied: nothing to do", file=sys.stderr)
    else:
        print(
            f"applied {plan.name!r} (plan {plan.plan_id[:12]}, apply {result.apply_id}): "
            f"{result.tags_changed} tag(s), {result.keys_written} key(s), {result.pushes} push(es), "
            f"{result.seconds:.2f} s",
            file=sys.stderr,
        )
    # the apply's own result (refs moved, keys written) plus the rebuild report (planner.rebuild)
    rep = {**result_json(plan, result), **report(plan, result, repo=Repo(repo))}
    write_github_output(rep)
    if fmt == "json":
        print(json.dumps(rep, indent=2, sort_keys=True))


@app.command()
def apply(
    plan_file: Annotated[Path | None, typer.Argument(metavar="PLAN", help="A plan file: plan, then apply.")] = None,
    plan_json: Annotated[Path | None, typer.Option("--plan", help="Apply exactly this saved plan.json.")] = None,
    require_id: Annotated[
        str | None, typer.Option("--require-id", help="Refuse (exit 7) unless the plan has this id (12+ hex digits).")
    ] = None,
    fmt: FormatOpt = "text",
    auto_approve: AutoApproveOpt = False,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Apply a plan as one transaction: all of it lands, or nothing.

    `apply PLAN` shows the dry run and asks for `yes` (see --auto-approve); `apply --plan FILE`
    applies a reviewed plan.json without asking.
    """
    if (plan_file is None) == (plan_json is None):
        raise PlannerError("give exactly one of PLAN (a plan file) or --plan plan.json")
    rem = _remote(repo, remote)
    if plan_json is not None:
        from planner.plan.run import load_plan_file

        plan = load_plan_file(plan_json)
        from planner.txn.remote import check_plan_remote

        check_plan_remote(
            plan, repo=Repo(repo), remote=Remote(rem)
        )  # a clear refusal before anything else (apply_plan checks too)
        invocation = Invocation(saved_plan=True, require_id=require_id is not None)
    else:
        assert plan_file is not None
        from planner.lang.compile import read_plan
        from planner.plan.run import source_name

        plan = compile_and_plan(
            read_plan(plan_file), str(plan_file), repo=repo, remote=rem, source_name=source_name(plan_file, repo)
        )
        show_dry_run(plan, repo, fmt)
        confirm_apply(plan, auto_approve=auto_approve)  # unreviewed: ask first (a saved plan.json was reviewed)
        invocation = Invocation(saved_plan=False, require_id=False)
    if require_id is not None:
        from planner.artifact import match_require_id

        require_id = match_require_id(plan.plan_id, require_id)  # a 12+ digit prefix names the full id
    _run_apply(plan, repo, rem, require_id, fmt, invocation=invocation)


def show_dry_run(plan: ComputedPlan, repo: Path, fmt: str = "text") -> None:
    """The dry run of what is about to be applied: on stdout, or on stderr when stdout is JSON."""
    from planner.plan.run import rendered

    stream = sys.stderr if fmt == "json" else sys.stdout
    stream.write(rendered(plan, "text", repo=repo, color_stream=stream))
    stream.flush()


@app.command()
def promote(
    component: Annotated[str, typer.Argument(metavar="COMPONENT", help="type/name, e.g. prompts/extraction")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="The version, e.g. v1.1.0")],
    to: Annotated[str, typer.Option("--to", help="The environment.")],
    auto_approve: AutoApproveOpt = False,
    new_env: Annotated[
        bool, typer.Option("--new-env", help="The environment is new: `create environment` in the plan.")
    ] = False,
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Promote one component version to an environment (asks first).

    edgit-style one-liner: a one-statement plan through the same engine as `apply`.
    """
    import dataclasses

    from planner.errors import DiagnosticError
    from planner.model import ComponentRef, Version, validate_env

    ref, ver, env = ComponentRef.parse(component), Version.parse(version), validate_env(to)
    declare = f"  create environment {env}\n" if new_env else ""
    text = f'plan "promote-{ref.name}-{ver}-{env}" {{\n{declare}  promote {ref} {ver} to {env}\n}}\n'
    rem = _remote(repo, remote)
    try:
        plan = compile_and_plan(text, "<promote>", repo=repo, remote=rem)
    except DiagnosticError as exc:  # the plan's own hint names a statement this command writes
        hint = f"to start a new environment, write: create environment {env}"
        exc.diagnostics = [
            dataclasses.replace(d, notes=tuple("pass --new-env to create it" if n == hint else n for n in d.notes))
            for d in exc.diagnostics
        ]
        raise
    show_dry_run(plan, repo)
    confirm_apply(plan, auto_approve=auto_approve)
    _run_apply(plan, repo, rem, None)


@app.command()
def recover(
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
    push_wait: Annotated[
        float,
        typer.Option(
            "--push-wait",
            min=0.0,
            help="Seconds a push the interrupted apply left running may still take before it is killed.",
        ),
    ] = 60.0,  # = planner.txn.orphans.WAIT, not imported here: planner.txn loads the whole engine
) -> None:
    """Finish or undo an interrupted apply (from .planner/journal/)."""
    from planner.txn.recover import recover as do_recover

    with _progress() as log:
        result = do_recover(
            repo=repo, remote=_remote(repo, remote), targets=stores_of(repo), progress=log, push_wait=push_wait
        )
    print(result.message, file=sys.stderr)


@app.command()
def history(
    component: Annotated[
        str | None, typer.Argument(metavar="COMPONENT", help="Only applies touching this type/name.")
    ] = None,
    env: EnvOpt = None,
    fmt: FormatOpt = "text",
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Every apply recorded in the ledger, newest first.

    The ledger is refs/planner/ledger on the remote.
    """
    from planner.txn.ledger import history as read_history
    from planner.txn.ledger import history_at

    git, rem = Repo(repo), Remote(_remote(repo, remote))
    state = None
    if env is not None:
        from planner.config import check_known_env, load_config
        from planner.state import snapshot

        cfg = load_config(repo)
        state = snapshot(git, rem) if cfg.environments is None else None  # the remote's environments
        check_known_env(env, cfg, state.env_names() if state is not None else [])
    if state is not None:  # one read of the remote: its ledger head is in the snapshot
        records = history_at(git, rem, state.ledger, component=component, env=env)
    else:
        records = read_history(git, rem, component=component, env=env)
    if fmt == "json":
        print(json.dumps({"applies": records}, indent=2, sort_keys=True))
        return
    if not records:
        print("no applies recorded")
    for r in records:
        phase = f" phase {r['phase']}/{r['phases']}" if r.get("phases", 1) > 1 else ""
        print(f"{r['time']}  {r['apply_id']}  {r['plan_name']}{phase}  by {r['actor']}  plan {r['plan_id'][:12]}")
        if r.get("ci_run_url"):
            print(f"    run {r['ci_run_url']}")
        for ch in r["refs"]:
            print(f"    {_ref_change(ch)}")
        for k in r["kv"]:
            b = (k["before_sha256"] or "(none)")[:12]
            print(f"    kv {k['namespace']}:{k['key']}: {b} -> {k['after_sha256'][:12]}")
        for m in r.get("marks", []):  # reject/override marks (planner.policy)
            why = f": {m['reason']}" if m.get("reason") else ""
            print(f"    {m['kind']} {m['component']} {m['version']}{why}")


def _ref_change(ch: Mapping[str, Any]) -> str:
    """One tag an apply set, written with the component as plans write it (``scripts/router``,
    not its tag ``logic/scripts/router/production``): ``scripts/router production: v0.9.0 ->
    v1.0.0-rc.1``, or ``agents/analyzer v1.1.0: created``."""
    from planner.model import TagName

    tag = TagName.try_parse(ch["ref"])
    after = ch["after_version"] or ch["after_commit"][:12]
    if tag is None:  # not one of ours: the ref as it is
        before = ch["before_version"] or (ch["before_commit"] or "(none)")[:12]
        return f"{ch['ref'].removeprefix('refs/tags/')}: {before} -> {after}"
    if tag.is_version:
        return f"{tag.component} {tag.slot}: created at {ch['after_commit'][:12]}"
    before = ch["before_version"] or (ch["before_commit"][:12] if ch["before_commit"] else "(none)")
    return f"{tag.component} {tag.slot}: {before} -> {after}"


@app.command()
def revert(
    apply_id: Annotated[str, typer.Argument(metavar="APPLY_ID", help="The apply to revert (see `planner history`).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Write the inverse plan here.")],
    remote: RemoteOpt = None,
    repo: RepoOpt = Path("."),
) -> None:
    """Write the inverse plan of a past apply, for review.

    Then `planner plan` and `planner apply` it like any plan.
    """
    from planner.txn.ledger import history as read_history
    from planner.txn.revert import inverse_plan

    records = [r for r in read_history(Repo(repo), Remote(_remote(repo, remote))) if r["apply_id"] == apply_id]
    if not records:
        raise PlannerError(f"no apply {apply_id!r} in the ledger (see `planner history`)")
    from planner.fileio import write_text_file

    write_text_file(out, inverse_plan(records))
    print(f"inverse plan of {apply_id} written to {out}", file=sys.stderr)
