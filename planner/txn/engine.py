"""Apply a ComputedPlan as one transaction (DESIGN.md section 4).

lock -> re-read state (stale: exit 4) -> per gate-separated phase: prepare (version keys) ->
commit (ONE atomic push of tags + ledger) -> project (env keys, read back) -> verify.
Any failure after something was written is compensated (tags moved back with leases, KV
restored, its ledger records removed with a lease on the tip); if that fails too: exit 6 and the
journal stays for ``planner recover``. Every step is journaled (fsynced) before it runs.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from planner.blobs import read_blobs_by_id
from planner.changes import ComputedPlan, KVChange, TagChange, VerifyCheck
from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.kv.base import KVEntry, KVStore
from planner.model import TagName
from planner.policy import plan_marks
from planner.state import LEDGER_REF, read_remote_refs
from planner.txn import ledger, orphans, versionkeys
from planner.txn.errors import (
    ApplyFailedError,
    ConflictError,
    PartialApplyError,
    StalePlanError,
)
from planner.txn.journal import Journal
from planner.txn.ledgerpush import last_per_phase, push_with_ledger
from planner.txn.lock import checkout_lock
from planner.txn.push import NewTag, OnStart, RefUpdate, write_tag_objects
from planner.txn.remote import check_plan_remote
from planner.txn.undopush import move_back
from planner.txn.verify import run_check

Progress = Callable[[str], None]


class Target(Protocol):
    """What apply needs of a KV target (kv.bindings.NamespaceTarget satisfies it)."""

    @property
    def store(self) -> KVStore: ...


@dataclass
class Counter:
    requests: int = 0


class CountingStore:
    """Counts requests to a real store (for the benchmark and the result)."""

    def __init__(self, inner: KVStore, counter: Counter) -> None:
        self.inner = inner
        self.counter = counter
        self.name = inner.name

    def get_many(self, keys: Sequence[str]) -> dict[str, KVEntry]:
        self.counter.requests += 1
        return self.inner.get_many(keys)

    def put_many(self, entries: Iterable[KVEntry]) -> None:
        self.counter.requests += 1
        self.inner.put_many(entries)

    def delete_many(self, keys: Iterable[str]) -> None:
        self.counter.requests += 1
        self.inner.delete_many(keys)

    def list_keys(self, prefix: str = "") -> list[str]:
        self.counter.requests += 1
        return self.inner.list_keys(prefix)


@dataclass(frozen=True)
class AppliedTag:
    """One ref this apply moved on the remote: tag objects before (None: created) and after."""

    ref: str
    old: str | None
    new: str
    old_version: str | None
    new_version: str | None


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


def _sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def _phase_of(level: int, gates: Sequence[int]) -> int:
    return sum(1 for g in gates if g < level)


@dataclass
class Context:
    """Everything a running apply (or a recover) needs."""

    repo: Repo
    remote: Remote
    stores: dict[str, KVStore]
    journal: Journal
    progress: Progress
    counter: Counter = field(default_factory=Counter)
    pushes: int = 0
    applied: list[AppliedTag] = field(default_factory=list)  # refs whose push landed


def _store(ctx: Context, namespace: str) -> KVStore:
    try:
        return ctx.stores[namespace]
    except KeyError:
        raise PlannerError(f"no KV store configured for namespace {namespace!r}") from None


def _by_namespace(items: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        out.setdefault(it["namespace"], []).append(it)
    return out


# ---------------------------------------------------------------------------------------------
# Planning the transaction (pure apart from the one state read and the batched KV reads)


def _check_state(
    plan: ComputedPlan, remote_refs: Mapping[str, tuple[str, str]], current_kv: Mapping[tuple[str, str], bytes | None]
) -> tuple[list[TagChange], list[KVChange], dict[str, str]]:
    """Split the plan into pending tag/KV changes and report targets that moved (stale)."""
    moved: dict[str, str] = {}
    pending_tags: list[TagChange] = []
    in_place_tags: list[TagChange] = []
    for t in plan.tags:
        if t.action == "noop":
            continue
        cur = remote_refs.get(t.ref)
        if (cur[0] if cur else None) == t.old_object:
            pending_tags.append(t)
        elif cur is not None and cur[1] == t.new_commit:
            in_place_tags.append(t)
        else:
            now = "absent" if cur is None else f"{cur[0][:12]} (commit {cur[1][:12]})"
            was = "absent" if t.old_object is None else t.old_object[:12]
            moved[t.ref] = f"expected {was}, the remote now has {now}"
    if pending_tags:  # a target already at its new value while others are not: someone else moved it
        for t in in_place_tags:
            moved[t.ref] = f"already moved to {t.new_commit[:12]} by someone else"
    pending_kv: list[KVChange] = []
    for k in plan.kv:
        if k.unchanged:
            continue
        value = current_kv.get((k.namespace, k.key))
        sha = None if value is None else _sha(value)
        if sha == k.new_sha256:
            if pending_tags:
                pending_kv.append(k)  # harmless rewrite; keeps compensation exact
            continue
        if sha != k.old_sha256:
            was = "missing" if k.old_sha256 is None else f"sha256 {k.old_sha256[:12]}"
            now = "missing" if sha is None else f"sha256 {sha[:12]}"
            moved[f"kv {k.namespace}:{k.key}"] = f"expected {was}, the store now has {now}"
            continue
        pending_kv.append(k)
    return pending_tags, pending_kv, moved


def _read_current_kv(ctx: Context, plan: ComputedPlan) -> dict[tuple[str, str], KVEntry | None]:
    keys: dict[str, list[str]] = {}
    for k in plan.kv:
        if not k.unchanged:
            keys.setdefault(k.namespace, []).append(k.key)
    out: dict[tuple[str, str], KVEntry | None] = {}
    for ns, ks in keys.items():
        got = _store(ctx, ns).get_many(ks)
        for key in ks:
            out[(ns, key)] = got.get(key)
    return out


def _intent(
    ctx: Context,
    plan: ComputedPlan,
    apply_id: str,
    tags: list[TagChange],
    kvs: list[KVChange],
    current_kv: Mapping[tuple[str, str], KVEntry | None],
    ledger_before: str | None,
) -> dict[str, Any]:
    """The journal's ``begin`` entry: every change with the old value needed to undo it."""
    gates = sorted({v.level for v in plan.verifies})
    nphases = len(gates) + 1
    phases: list[dict[str, Any]] = [{"tags": [], "kv": [], "verifies": []} for _ in range(nphases)]
    for t in tags:
        phases[_phase_of(t.level, gates)]["tags"].append(
            {
                "ref": t.ref,
                "step_id": t.step_id,
                "action": t.action,
                "old": t.old_object,
                "old_commit": t.old_commit,
                "old_version": t.old_version,
                "new_commit": t.new_commit,
                "new_version": t.new_version,
                "message": t.message,
            }
        )
    for k in kvs:
        cur = current_kv.get((k.namespace, k.key))
        old = None
        if cur is not None:
            old = {"blob": ctx.journal.save_blob(cur.value), "metadata": dict(cur.metadata)}
        phases[_phase_of(k.level, gates)]["kv"].append(
            {
                "namespace": k.namespace,
                "key": k.key,
                "phase": k.phase,
                "level": k.level,
                "step_id": k.step_id,
                "component": k.component,
                "slot": k.slot,
                "old": old,
                "old_sha256": None if cur is None else _sha(cur.value),
                "new_sha256": k.new_sha256,
                "blob": k.blob,
                "metadata": dict(k.metadata),
            }
        )
    for v in plan.verifies:
        phases[_phase_of(v.level, gates)]["verifies"].append(
            {"step_id": v.step_id, "env": v.env, "url": v.url, "expect": v.expect, "within": v.within_seconds}
        )
    # no empty phases; a plan of only reject/override marks keeps one, to record them in the ledger
    phases = [p for p in phases if p["tags"] or p["kv"] or p["verifies"]] or phases[:1]
    return {
        "apply_id": apply_id,
        "plan_id": plan.plan_id,
        "plan_name": plan.name,
        "plan_source": plan.source_file,
        "plan_source_sha256": plan.source_sha256,
        "remote": plan.remote,
        "ledger_before": ledger_before,
        "actor": ledger.actor(ctx.repo),
        "ci_run_url": ledger.ci_run_url(),
        "phases": phases,
        "marks": plan_marks(plan),  # rejected/overridden versions (planner.policy), recorded with the last phase
    }


# ---------------------------------------------------------------------------------------------
# The steps (shared with recover)


def write_kv(ctx: Context, items: Sequence[dict[str, Any]]) -> int:
    """Write new values (from git blobs), grouped by level then namespace: dependency order."""
    if not items:
        return 0
    values = read_blobs_by_id(ctx.repo, [i["blob"] for i in items])
    levels = sorted({i["level"] for i in items})
    for level in levels:
        for ns, group in sorted(_by_namespace(i for i in items if i["level"] == level).items()):
            _store(ctx, ns).put_many(KVEntry(i["key"], values[i["blob"]], i["metadata"]) for i in group)
    return len(items)


def read_back(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    for ns, group in sorted(_by_namespace(items).items()):
        got = _store(ctx, ns).get_many([i["key"] for i in group])
        bad = [i["key"] for i in group if i["key"] not in got or _sha(got[i["key"]].value) != i["new_sha256"]]
        if bad:
            raise ApplyFailedError(f"read-back of {len(bad)} key(s) in {ns!r} did not match: {', '.join(bad[:5])}")


def rewrite_missing(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    """Read ``items`` back and write again those that are missing or differ (idempotent)."""
    for ns, group in sorted(_by_namespace(items).items()):
        got = _store(ctx, ns).get_many([i["key"] for i in group])
        bad = [i for i in group if i["key"] not in got or _sha(got[i["key"]].value) != i["new_sha256"]]
        if bad:
            ctx.progress(f"prepare: writing {len(bad)} version key(s) again (deleted by another apply)")
            write_kv(ctx, bad)


def restore_kv(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    """Put back recorded old values; delete keys that did not exist. Idempotent."""
    for ns, group in sorted(_by_namespace(items).items()):
        store = _store(ctx, ns)
        puts = [
            KVEntry(i["key"], ctx.journal.read_blob(i["old"]["blob"]), i["old"]["metadata"]) for i in group if i["old"]
        ]
        dels = [i["key"] for i in group if not i["old"]]
        if puts:
            store.put_many(puts)
        if dels:
            store.delete_many(dels)


def _ledger_record(intent: Mapping[str, Any], index: int, tag_objects: Mapping[str, str]) -> dict[str, Any]:
    phase = intent["phases"][index]
    return {
        "format": 1,
        "apply_id": intent["apply_id"],
        "phase": index + 1,
        "phases": len(intent["phases"]),
        "plan_id": intent["plan_id"],
        "plan_name": intent["plan_name"],
        "plan_source": intent["plan_source"],
        "plan_source_sha256": intent["plan_source_sha256"],
        "remote": intent["remote"],
        "actor": intent["actor"],
        "ci_run_url": intent["ci_run_url"],
        "time": ledger.now_iso(),
        "refs": [
            {
                "ref": t["ref"],
                "step_id": t["step_id"],
                "before": t["old"],
                "after": tag_objects[t["ref"]],
                "before_commit": t["old_commit"],
                "after_commit": t["new_commit"],
                "before_version": t["old_version"],
                "after_version": t["new_version"],
            }
            for t in phase["tags"]
        ],
        "kv": [
            {
                "namespace": k["namespace"],
                "key": k["key"],
                "before_sha256": k["old_sha256"],
                "after_sha256": k["new_sha256"],
                "component": k["component"],
                "slot": k["slot"],
            }
            for k in phase["kv"]
        ],
        "marks": list(intent.get("marks", [])) if index == len(intent["phases"]) - 1 else [],
    }


def commit_phase(ctx: Context, intent: dict[str, Any], index: int, ledger_parent: str | None) -> str:
    """Write tag objects and the ledger commit, journal them, then ONE atomic push. Returns the ledger commit."""
    phase = intent["phases"][index]
    new_tags = [NewTag(t["ref"], t["new_commit"], t["message"]) for t in phase["tags"]]
    objects = write_tag_objects(ctx.repo, new_tags)
    record = _ledger_record(intent, index, objects)
    updates = [RefUpdate(t["ref"], t["old"], objects[t["ref"]]) for t in phase["tags"]]

    def journal_commit(commit: str, parent: str | None) -> None:
        ctx.journal.write("commit", phase=index, tags=objects, ledger=commit, ledger_parent=parent)
        ctx.progress(f"commit: one atomic push of {len(updates) + 1} ref(s) (phase {index + 1})")
        ctx.pushes += 1

    ledger_commit, _parent = push_with_ledger(
        ctx.repo,
        ctx.remote,
        updates,
        record,
        ledger_parent,
        journal_commit,
        OnStart(ctx.journal.current, lambda pid: _pushing(ctx, pid, index)),
    )
    ctx.applied += [
        AppliedTag(t["ref"], t["old"], objects[t["ref"]], t["old_version"], t["new_version"]) for t in phase["tags"]
    ]
    ctx.journal.crash_point("pushed")
    ctx.journal.write("committed", phase=index, ledger=ledger_commit)
    return ledger_commit


def _pushing(ctx: Context, pid: int, phase: int | None) -> None:
    """Journal a started push (phase None: the undo's), so recover can wait for it."""
    ctx.journal.write("pushing", phase=phase, **orphans.record(pid))


def commits_from_journal(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The last attempted push (``commit`` entry) of each phase, in order."""
    return last_per_phase([e for e in entries if e["point"] == "commit"])


def touched_keys(intent: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """KV keys this apply may have written: prepare keys of phases that reached ``prepare``, env
    keys of phases that reached ``project``. Only these are restored, so an undo never clobbers
    keys another apply wrote while ours had not touched them (e.g. after a lost push race)."""
    prepared = {e["phase"] for e in entries if e["point"] == "prepare"}
    projected = {e["phase"] for e in entries if e["point"] == "project"}
    if any(e["point"] == "project" and e.get("recover") for e in entries):
        projected = set(range(len(intent["phases"])))  # recover rolled forward every phase
    out: list[dict[str, Any]] = []
    for i, p in enumerate(intent["phases"]):
        for k in p["kv"]:
            if (k["phase"] == "prepare" and i in prepared) or (k["phase"] == "project" and i in projected):
                out.append(k)
    return out


def undo(
    ctx: Context, intent: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], *, abandon_moved: bool = False
) -> None:
    """Compensate: tags back (with leases) and our ledger records removed in ONE push
    (planner.txn.undopush), then KV restored. ``abandon_moved`` (recover): tags someone else moved
    since stay theirs, and so do the environment keys they address."""
    ctx.journal.write("compensate")
    back = move_back(
        ctx.repo,
        ctx.remote,
        intent,
        commits_from_journal(entries),
        ctx.progress,
        abandon_moved=abandon_moved,
        on_start=OnStart(ctx.journal.current, lambda pid: _pushing(ctx, pid, None)),
    )
    ctx.pushes += back.pushes
    if back.pushes:
        ctx.journal.crash_point("undo-pushed")
    items = [k for k in touched_keys(intent, entries) if not _addressed_by(k, back.abandoned)]
    _restore_touched(ctx, intent, items)
    ctx.journal.write("compensated")
    ctx.journal.finish(intent["apply_id"])


def _addressed_by(item: Mapping[str, Any], refs: set[str]) -> bool:
    """Is ``item`` the environment key of one of ``refs``?"""
    for ref in refs:
        tag = TagName.try_parse(ref)
        if tag is not None and (str(tag.component), str(tag.slot)) == (item["component"], item["slot"]):
            return True
    return False


def _restore_touched(ctx: Context, intent: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
    """Restore ``items`` except version keys another landed apply needs (planner.txn.versionkeys);
    keys that became needed while we deleted them are put back."""
    gone = versionkeys.deletes(items)
    if gone:
        keep = {
            id(i) for i in versionkeys.needed(gone, read_remote_refs(ctx.repo, ctx.remote), intent["ledger_before"])
        }
        items = [i for i in items if id(i) not in keep]
    ctx.progress(f"compensate: restoring {len(items)} KV key(s)")
    restore_kv(ctx, items)
    gone = versionkeys.deletes(items)
    if gone:
        write_kv(ctx, versionkeys.needed(gone, read_remote_refs(ctx.repo, ctx.remote), intent["ledger_before"]))


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
        if precheck is not None:
            precheck(remote_refs)  # e.g. the policies, against the same read the stale check uses
        current = _read_current_kv(ctx, plan)
        tags, kvs, moved = _check_state(plan, remote_refs, {k: (v.value if v else None) for k, v in current.items()})
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
        intent = _intent(ctx, plan, apply_id, tags, kvs, current, ledger_before)
        journal.write("begin", intent=intent)
        try:
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
        journal.finish(apply_id)
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
