"""Apply a ComputedPlan as one transaction (DESIGN.md section 4).

lock -> re-read state (stale: exit 4) -> per gate-separated phase: prepare (version keys) ->
commit (ONE atomic push of tags + ledger) -> project (env keys, read back) -> verify.
Any failure after something was written is compensated (tags moved back with leases, KV
restored, its ledger records removed with a lease on the tip); if that fails too: exit 6 and the
journal stays for ``planner recover``. Every step is journaled (fsynced) before it runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.kv.base import KVStore
from planner.model import LEDGER_REF
from planner.plan.changes import ComputedPlan, VerifyCheck
from planner.policy import plan_marks
from planner.state import read_remote_refs
from planner.txn import ledger, remotejournal
from planner.txn.commit import commit_phase
from planner.txn.compensate import undo
from planner.txn.context import AppliedTag, Context, Counter, CountingStore, Progress, Target
from planner.txn.errors import (
    ApplyFailedError,
    ConflictError,
    PartialApplyError,
    StalePlanError,
)
from planner.txn.intent import build_intent, check_state, read_current_kv
from planner.txn.journal import Journal
from planner.txn.kvwrites import read_back, rewrite_missing, write_kv
from planner.txn.lock import checkout_lock
from planner.txn.remote import check_plan_remote
from planner.txn.verify import run_check


@dataclass(frozen=True)
class ApplyResult:
    apply_id: str
    status: str  # "applied" | "noop"
    pushes: int
    kv_requests: int
    ledger_commits: tuple[str, ...]
    seconds: float
    tags_changed: int
    keys_written: int
    tags: tuple[AppliedTag, ...] = ()  # every ref moved, in push order (empty for a no-op)


def run_phases(ctx: Context, intent: dict[str, Any], start: int, ledger_parent: str | None) -> list[str]:
    commits: list[str] = []
    for index in range(start, len(intent["phases"])):
        phase = intent["phases"][index]
        prepare = [k for k in phase["kv"] if k["phase"] == "prepare"]
        project = [k for k in phase["kv"] if k["phase"] == "project"]
        ctx.journal.write("prepare", phase=index)
        if prepare:
            ctx.progress(f"prepare: writing {len(prepare)} version key(s)")
            write_kv(ctx, prepare)
        last_with_marks = index == len(intent["phases"]) - 1 and bool(intent.get("marks"))
        if phase["tags"] or prepare or project or last_with_marks:
            ledger_parent = commit_phase(ctx, intent, index, ledger_parent)
            commits.append(ledger_parent)
        if prepare:  # a losing apply may have deleted a shared version key before our tag landed
            rewrite_missing(ctx, prepare)
        ctx.journal.write("project", phase=index)
        if project:
            ctx.progress(f"project: writing {len(project)} environment key(s)")
            write_kv(ctx, project)
            read_back(ctx, project)
        ctx.journal.write("projected", phase=index)
        if phase["verifies"]:
            ctx.journal.write("verify", phase=index)
            run_verifies(ctx, phase["verifies"])
    return commits


def run_verifies(ctx: Context, verifies: Sequence[Mapping[str, Any]]) -> None:
    """The verify checks recorded in a phase of the intent; raises VerifyError on the first failure."""
    for v in verifies:
        run_check(VerifyCheck(v["step_id"], v["env"], v["url"], v["expect"], v["within"], 0), ctx.progress)


# ---------------------------------------------------------------------------------------------


def apply_plan(
    plan: ComputedPlan,
    *,
    repo: Path | str,
    remote: str,
    targets: Mapping[str, Target],
    require_id: str | None = None,
    progress: Progress | None = None,
    precheck: Callable[[Mapping[str, tuple[str, str]]], None] | None = None,
) -> ApplyResult:
    """Apply ``plan`` completely or not at all. See the module docstring for the protocol.

    Refused before anything is read or written: another plan id than ``require_id`` (exit 7), a
    plan computed against another remote than ``remote`` (exit 1). ``precheck`` gets the remote's
    refs as read under the apply lock, before the stale check; whatever it raises stops the
    apply before any change (the CLI checks the policies there).
    """
    start = time.monotonic()
    log = progress or (lambda _m: None)
    if require_id is not None and require_id != plan.plan_id:
        from planner.artifact import not_approved

        raise not_approved(plan.plan_id, require_id)
    git, rem = Repo(Path(repo)), Remote(remote)  # the command's repository and remote, for every stage
    check_plan_remote(plan, repo=git, remote=rem)  # a plan computed for another remote: refuse
    journal = Journal.open(git.root)
    counter = Counter()
    stores: dict[str, KVStore] = {ns: CountingStore(t.store, counter) for ns, t in targets.items()}
    ctx = Context(git, rem, stores, journal, log, counter)
    with checkout_lock(journal.root):
        if journal.in_flight():
            raise PartialApplyError(
                "an interrupted apply is recorded in .planner/journal/current.jsonl: run `planner recover` first"
            )
        apply_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
        log("reading remote state")
        remote_refs = read_remote_refs(git, rem)
        others = remotejournal.copies_on(remote_refs)
        if others:
            log(
                f"warning: {len(others)} other apply journal(s) on the remote ({', '.join(sorted(others))}): "
                "in flight, or interrupted (if they are not running, `planner recover` finishes or undoes them)"
            )
        if precheck is not None:
            precheck(remote_refs)  # e.g. the policies, against the same read the stale check uses
        current = read_current_kv(ctx, plan)
        tags, kvs, moved = check_state(plan, remote_refs, current)
        if moved:
            lines = "\n".join(f"  {t}: {why}" for t, why in sorted(moved.items()))
            raise StalePlanError(
                f"stale plan: {len(moved)} target(s) moved since the plan was computed; nothing was changed\n{lines}\n"
                "re-run `planner plan` and review again",
                moved,
            )
        # A plan of only reject/override statements still records its marks in the ledger.
        marks_only = bool(plan_marks(plan)) and not plan.has_changes
        if not tags and not kvs and not marks_only:
            log("already applied: every tag and key is in place, nothing to do")
            return ApplyResult(apply_id, "noop", 0, counter.requests, (), time.monotonic() - start, 0, 0)
        ledger_before = remote_refs.get(LEDGER_REF, (None, None))[0]
        ledger.fetch_ledger(git, rem, ledger_before)
        intent = build_intent(ctx, plan, apply_id, tags, kvs, current, ledger_before)
        journal.write("begin", intent=intent)
        try:
            remotejournal.publish(ctx, apply_id, None)  # from here on any machine can recover this apply
            commits = run_phases(ctx, intent, 0, ledger_before)
        except ConflictError as exc:
            # the rejected push changed nothing; earlier phases and prepared keys are undone
            _undo_or_partial(ctx, intent, exc)
            raise
        except Exception as exc:  # any failure after `begin` (also unexpected ones) is compensated
            cause = exc if isinstance(exc, PlannerError) else PlannerError(f"{type(exc).__name__}: {exc}")
            _undo_or_partial(ctx, intent, cause)
            raise ApplyFailedError(
                f"apply failed and was undone (everything is back as before): {cause.message}"
            ) from exc
        journal.write("done")
        remotejournal.close(ctx, apply_id)
        log(f"applied: {len(tags)} tag(s), {len(kvs)} key(s); ledger {commits[-1][:12] if commits else '-'}")
        return ApplyResult(
            apply_id,
            "applied",
            ctx.pushes,
            counter.requests,
            tuple(commits),
            time.monotonic() - start,
            len(tags),
            len(kvs),
            tuple(ctx.applied),
        )


def _undo_or_partial(ctx: Context, intent: dict[str, Any], cause: PlannerError) -> None:
    ctx.progress(f"failed: {cause.message}; undoing")
    try:
        undo(ctx, intent, list(ctx.journal.entries))
    except PartialApplyError:
        raise
    except Exception as exc:
        msg = exc.message if isinstance(exc, PlannerError) else f"{type(exc).__name__}: {exc}"
        raise PartialApplyError(
            f"{cause.message}\ncompensation failed too: {msg}\n"
            "the apply is partially applied; the journal is kept: run `planner recover`"
        ) from exc
