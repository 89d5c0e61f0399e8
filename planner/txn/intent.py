"""Planning the transaction: which tag and KV changes are still pending (and which targets moved:
stale), and the journal's ``begin`` entry with every old value needed to undo them.

Pure apart from the batched KV reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from planner.content import sha256_hex
from planner.kv.base import KVEntry
from planner.model import TagName
from planner.plan.changes import ComputedPlan, KVChange, TagChange
from planner.policy import plan_marks
from planner.txn import ledger
from planner.txn.context import Context, store_for


def _phase_of(level: int, gates: Sequence[int]) -> int:
    return sum(1 for g in gates if g < level)


def check_state(
    plan: ComputedPlan,
    remote_refs: Mapping[str, tuple[str, str]],
    current_kv: Mapping[tuple[str, str], KVEntry | None],
) -> tuple[list[TagChange], list[KVChange], dict[str, str]]:
    """Split the plan into pending tag/KV changes and report targets that moved (stale)."""
    moved: dict[str, str] = {}
    pending_tags: list[TagChange] = []
    in_place_tags: list[TagChange] = []
    left: dict[tuple[str, str], TagChange] = {}  # (component, env) -> an in-place tag moved since
    for t in plan.tags:
        cur = remote_refs.get(t.ref)
        if t.action == "noop":
            tag = TagName.try_parse(t.ref)
            if tag is not None and (cur[0] if cur else None) != t.old_object:
                left[(str(tag.component), str(tag.slot))] = t
            continue
        if (cur[0] if cur else None) == t.old_object:
            pending_tags.append(t)
        elif cur is not None and cur[1] == t.new_commit:
            in_place_tags.append(t)
        else:
            moved[t.ref] = _moved(t, cur)
    if pending_tags:  # a target already at its new value while others are not: someone else moved it
        for t in in_place_tags:
            moved[t.ref] = f"already moved to {t.new_commit[:12]} by someone else"
    pending_kv: list[KVChange] = []
    for k in plan.kv:
        if k.unchanged:
            continue
        entry = current_kv.get((k.namespace, k.key))
        sha = None if entry is None else sha256_hex(entry.value)
        if sha == k.new_sha256:
            if pending_tags or (entry is not None and dict(entry.metadata) != k.metadata):
                pending_kv.append(k)  # harmless rewrite that keeps compensation exact, or stale metadata
            continue
        if sha != k.old_sha256:
            was = "missing" if k.old_sha256 is None else f"sha256 {k.old_sha256[:12]}"
            now = "missing" if sha is None else f"sha256 {sha[:12]}"
            moved[f"kv {k.namespace}:{k.key}"] = f"expected {was}, the store now has {now}"
            continue
        pending_kv.append(k)
    for k in pending_kv:  # its metadata names the version the plan found in place: no longer there
        found = left.get((k.component, k.slot))
        if found is not None:
            moved[found.ref] = _moved(found, remote_refs.get(found.ref)) + " (the plan found it in place)"
    return pending_tags, pending_kv, moved


def _moved(t: TagChange, cur: tuple[str, str] | None) -> str:
    was = "absent" if t.old_object is None else t.old_object[:12]
    now = "absent" if cur is None else f"{cur[0][:12]} (commit {cur[1][:12]})"
    return f"expected {was}, the remote now has {now}"


def read_current_kv(ctx: Context, plan: ComputedPlan) -> dict[tuple[str, str], KVEntry | None]:
    keys: dict[str, list[str]] = {}
    for k in plan.kv:
        if not k.unchanged:
            keys.setdefault(k.namespace, []).append(k.key)
    out: dict[tuple[str, str], KVEntry | None] = {}
    for ns, ks in keys.items():
        got = store_for(ctx, ns).get_many(ks)
        for key in ks:
            out[(ns, key)] = got.get(key)
    return out


def build_intent(
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
                "old_sha256": None if cur is None else sha256_hex(cur.value),
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
