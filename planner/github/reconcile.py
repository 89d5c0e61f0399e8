"""``planner github apply``: a reconcile of main, not an event handler.

Every plan file merged to main (first-parent history, merge order) that this reconcile has not
handled yet is compiled again FROM THE MERGED FILE against the remote as it is now and applied
(planner.txn). The approval is the merge itself: nothing is read from pull-request comments,
artifacts or any other place a commenter can write, so there is nothing to forge (docs/ci.md,
"Threat model"). Where it has got to lives on the remote (planner.github.cursor), advanced after
every plan, so a cancelled, skipped or killed run is harmless: the next run continues.

A plan that is stale (the remote moved under it: it no longer compiles or its leases fail) or
blocked by a policy is reported and skipped; the others go on. Errors of the infrastructure (git,
KV, network) stop the run without advancing: the next run retries that plan.

An apply killed mid-way (a cancelled or lost runner) leaves its journal's copy on the remote
(planner.txn.remotejournal). The next run recovers it first, as ``planner recover`` would: what
landed is finished, what did not is undone. The plan was not marked done (the cursor is advanced
only after an apply returns), so it comes next again: compiled again, it finds everything in
place (a no-op) or, if it was undone, applies it: nothing is applied twice.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import DiagnosticError, PlannerError
from planner.github import cursor, gitlog
from planner.github.actions import Runner
from planner.gitio import Opt, Remote, Repo
from planner.model import LEDGER_REF
from planner.policy import Invocation, PolicyError
from planner.state import read_remote_refs
from planner.txn import ledger
from planner.txn.errors import ConflictError, PartialApplyError, StalePlanError

# A merged plan applied on main was reviewed (the merge) and is pinned to what was merged.
REVIEWED = Invocation(saved_plan=True, require_id=True)


@dataclass
class Outcome:
    commit: str
    path: str
    status: str  # applied | noop | blocked | stale
    message: str = ""
    apply_id: str | None = None
    plan_id: str | None = None
    environments: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "path": self.path,
            "status": self.status,
            "message": self.message,
            "apply_id": self.apply_id,
            "plan_id": self.plan_id,
        }


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the end (the next run retries)

    def deploy(self) -> tuple[list[dict[str, str]], list[str]]:
        """Per environment, the commit the LAST plan that moved its logic components reports
        (planner.rebuild); an environment whose moved components diverge is not deployed."""
        commits: dict[str, str | None] = {}
        for o in self.outcomes:
            if o.status not in ("applied", "noop"):
                continue
            for env, info in o.environments.items():
                if info.get("logic_moved"):
                    commits[env] = info.get("commit")
        problems = [
            f"{env}: the moved logic components are on diverging commits: deploy by hand"
            for env, c in sorted(commits.items())
            if c is None
        ]
        return [{"env": env, "commit": c} for env, c in sorted(commits.items()) if c is not None], problems


def pending(repo: Repo, remote: Remote, head: str, cur: cursor.Cursor, since: str | None) -> list[gitlog.Merged]:
    if cur.main is None:
        return gitlog.merged_plans(repo, head, since)
    if not gitlog.has_commit(repo, cur.main):  # a shallow or single-branch checkout: fetch it
        repo.run(["fetch", Opt("--no-tags"), Opt("--quiet"), remote.spec, cur.main], check=False)
    if not gitlog.has_commit(repo, cur.main) or not gitlog.is_ancestor(repo, cur.main, head):
        if gitlog.has_commit(repo, cur.main) and gitlog.is_ancestor(repo, head, cur.main):
            return []  # an older commit than the reconcile has reached: nothing left for this run
        raise PlannerError(
            f"the reconcile has reached main commit {cur.main[:12]}, which is not in the history of {head[:12]} "
            "(main was rewritten?); fix refs/planner/reconcile by hand (docs/ci.md)"
        )
    parents = repo.text(["rev-list", Opt("--parents"), Opt("-n1"), cur.main]).split()[1:]
    after = parents[0] if parents else None
    done = set(cur.paths)
    return [m for m in gitlog.merged_plans(repo, head, after) if not (m.commit == cur.main and m.path in done)]


def recover_first(repo: Path, remote: str, log: Callable[[str], None]) -> None:
    """An apply an earlier run left interrupted, in this checkout (a self-hosted runner) or, through
    its journal's copy on the remote, on a runner that is gone: finish or undo it. Only copies a
    workflow run of this repository left are taken over (the concurrency group says none is still
    running); one from elsewhere (a laptop) may be live: the run stops and says so."""
    from planner.cli.apply import stores_of
    from planner.txn.recover import recover
    from planner.txn.remotejournal import RemoteCopy

    runs = ledger.ci_run_url()
    prefix = runs.rsplit("/", 1)[0] + "/" if runs else None

    def adopt(copy: RemoteCopy) -> str | None:
        url = copy.intent.get("ci_run_url") or ""
        if prefix and url.startswith(prefix):
            return None
        return "it was not left by a workflow run of this repository; if it is not running, `planner recover` takes it over"

    result = recover(repo=repo, remote=remote, targets=stores_of(repo), progress=log, adopt=adopt)
    if result.outcome != "nothing":
        log(result.message)


def describe(exc: PlannerError) -> str:
    """The error with each positioned diagnostic under it (a policy names the rule and the line)."""
    lines = [exc.message]
    for d in exc.diagnostics:
        lines.append(f"{d.span}: {d.message}" if d.span else d.message)
    return "\n".join(dict.fromkeys(lines))


def apply_one(repo: Path, remote: str, m: gitlog.Merged, log: Callable[[str], None]) -> Outcome:
    """Compile the merged file, apply it; stale and blocked are outcomes, anything else raises."""
    from planner.cli.apply import _targets, compile_and_plan, policy_precheck
    from planner.rebuild import environments
    from planner.txn.engine import apply_plan

    text = gitlog.read_at(Repo(repo), m.commit, m.path)
    try:
        plan = compile_and_plan(text, m.path, repo=repo, remote=remote, invocation=REVIEWED, source_name=m.path)
    except PolicyError as exc:
        return Outcome(m.commit, m.path, "blocked", describe(exc))
    except DiagnosticError as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        where = f"{first.span}: " if first is not None and first.span else ""
        return Outcome(m.commit, m.path, "stale", f"no longer compiles against the remote: {where}{exc.message}")
    try:
        result = apply_plan(
            plan,
            repo=repo,
            remote=remote,
            targets=_targets(repo, plan),
            require_id=plan.plan_id,
            progress=log,
            precheck=policy_precheck(plan, repo=repo, remote=remote, invocation=REVIEWED),
        )
    except PolicyError as exc:
        return Outcome(m.commit, m.path, "blocked", describe(exc), plan_id=plan.plan_id)
    except (StalePlanError, ConflictError) as exc:
        return Outcome(m.commit, m.path, "stale", exc.message, plan_id=plan.plan_id)
    envs = environments(plan, Repo(repo))
    msg = (
        "already in place" if result.status == "noop" else f"{result.tags_changed} tag(s), {result.keys_written} key(s)"
    )
    return Outcome(m.commit, m.path, result.status, msg, result.apply_id, plan.plan_id, envs)


def reconcile(
    repo: Path, remote: str, *, head: str = "HEAD", since: str | None = None, log: Callable[[str], None] | None = None
) -> Report:
    say = log or (lambda msg: print(f"planner: {msg}", file=sys.stderr, flush=True))
    try:
        recover_first(repo, remote, say)
    except PlannerError as exc:  # nothing is applied on top of an apply in an unknown state
        return Report(stopped=f"an earlier apply is not closed: {exc.message}")
    git, rem = Repo(repo), Remote(remote)  # the run's repository and remote, for its own git reads
    head_commit = git.text(["rev-parse", Opt("--verify"), f"{head}^{{commit}}"]).strip()
    cur = cursor.read(git, rem)
    todo = pending(git, rem, head_commit, cur, since)
    tip = read_remote_refs(git, rem).get(LEDGER_REF, (None, None))[0]
    ledger.fetch_ledger(git, rem, tip)
    stop = cur.ledger if cur.ledger and gitlog.has_commit(git, cur.ledger) else None
    earlier = {(r.get("plan_source"), r.get("plan_source_sha256")): r for r in ledger.read_records(git, tip, stop=stop)}
    report = Report()
    say(f"reconcile: {len(todo)} merged plan file(s) to handle up to {head_commit[:12]}")
    for m in todo:
        say(f"{m.path} (merged in {m.commit[:12]})")
        try:
            out = apply_one(repo, remote, m, say)
        except PartialApplyError as exc:
            report.stopped = f"{m.path}: {exc.message}"
            try:
                recover_first(repo, remote, say)
            except PlannerError as rexc:
                report.stopped += f"\nrecover failed too: {rexc.message}"
            break
        except PlannerError as exc:
            report.stopped = f"{m.path}: {exc.message}"
            break
        sha = hashlib.sha256(gitlog.read_at(git, m.commit, m.path).encode("utf-8")).hexdigest()
        prior = earlier.get((m.path, sha))
        if out.status == "noop" and prior is not None:
            out.message = f"already applied by apply {prior.get('apply_id')} (an earlier, interrupted run)"
            out.apply_id = prior.get("apply_id")
        report.outcomes.append(out)
        paths = (*cur.paths, m.path) if cur.main == m.commit else (m.path,)
        tip = read_remote_refs(git, rem).get(LEDGER_REF, (None, None))[0]
        try:
            cur = cursor.advance(git, rem, cur, main=m.commit, paths=paths, ledger=tip, last=out.row())
        except ConflictError:
            report.stopped = "another reconcile moved refs/planner/reconcile meanwhile: it goes on from there"
            break
    return report


def summary_markdown(report: Report, deploy: list[dict[str, str]], run_url: str | None) -> str:
    lines = ["## Release apply (reconcile of main)", ""]
    if not report.outcomes and report.stopped is None:
        lines.append("Every merged plan is applied: nothing to do.")
    if report.outcomes:
        lines += ["| plan file | merged in | outcome | details |", "|---|---|---|---|"]
        for o in report.outcomes:
            detail = (o.message or "").replace("\n", " ").replace("|", "\\|")
            if o.apply_id:
                detail += f" (apply `{o.apply_id}`)"
            lines.append(f"| `{o.path}` | `{o.commit[:12]}` | **{o.status}** | {detail} |")
    if report.stopped:
        lines += ["", f"**Stopped** (the next run retries from here): {report.stopped}"]
    if deploy:
        lines += ["", "Deploy: " + ", ".join(f"`{d['env']}` at `{d['commit'][:12]}`" for d in deploy)]
    if run_url:
        lines += ["", f"[run]({run_url})"]
    return "\n".join(lines)


def write_outputs(runner: Runner, report: Report, deploy: list[dict[str, str]]) -> None:
    runner.output("deploy", json.dumps(deploy, sort_keys=True))
    runner.output("applied", json.dumps([o.path for o in report.outcomes if o.status == "applied"]))
    runner.output("not-applied", json.dumps([o.row() for o in report.outcomes if o.status in ("blocked", "stale")]))
