"""The dry run: diff an ordered plan against the remote snapshot and the KV stores.

Pure in the middle, with exactly these reads at the edges: the given ``RepoState`` (one
ls-remote, already taken), ONE ``git cat-file --batch`` for the registry at every target commit,
two for the component files (their directory trees, then the blobs: planner.content), and ONE
``get_many`` per KV namespace. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from planner.artifact import FORMAT_VERSION, with_id
from planner.blobs import Blob
from planner.content import UnknownComponentError, read_component_files, sha256_hex
from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.gitremote import redact_url
from planner.kv.base import KVStore
from planner.kv.bindings import content_metadata
from planner.kv.layout import keys_for
from planner.model import ComponentRef, TagName, Version, build_tag, env_message, version_message
from planner.plan.changes import ComputedPlan, KVChange, Notice, TagAction, TagChange, VerifyCheck
from planner.registry import Registry
from planner.state import RepoState
from planner.steps import CreateVersion, Mark, MoveEnv, OrderedPlan, Step, Verify


class DiffError(PlannerError):
    """The plan cannot be diffed: a version tag exists elsewhere, a file is missing at a commit..."""


class NamespaceTargetLike(Protocol):
    """What the dry run needs from ``planner.kv.bindings.NamespaceTarget``."""

    @property
    def store(self) -> KVStore: ...

    @property
    def layouts(self) -> Sequence[str]: ...


def step_to_dict(step: Step, level: int) -> dict[str, Any]:
    """A step as plain, JSON-safe data for the artifact."""
    d: dict[str, Any] = {"id": step.id, "level": level}
    if isinstance(step, CreateVersion):
        d.update(kind="create", component=str(step.component), prefix=step.prefix, version=str(step.version))
        d.update(commit=step.commit, at=step.at)
    elif isinstance(step, MoveEnv):
        d.update(kind=step.kind, component=str(step.component), prefix=step.prefix, env=step.env)
        d.update(version=str(step.version) if step.version else None, commit=step.commit, from_env=step.from_env)
    elif isinstance(step, Verify):
        d.update(kind="verify", env=step.env, url=step.url, expect=step.expect, within_seconds=step.within_seconds)
    else:  # a mark: planner.policy reads these fields (plan_marks, the 'rejected' rule)
        d.update(kind=step.kind, component=str(step.component), version=str(step.version), reason=step.reason)
    if step.span is not None:
        d["span"] = str(step.span)
    return d


def mark_notice(mark: Mark) -> Notice:
    """``rejects prompts/x v1.0.0: reason`` / ``overrides ...``: a mark made visible in the review."""
    reason = f": {mark.reason}" if mark.reason else ""
    return Notice("warning", f"{mark.kind}s {mark.component} {mark.version}{reason}", str(mark.component))


def remote_url(remote: Remote, repo: Repo) -> str:
    """The remote's URL without credentials; a remote *name* is resolved through git config."""
    return redact_url(repo.url_of(remote))


def _component_files(
    repo: Repo, registry: Registry, wanted: Iterable[tuple[str, ComponentRef]], remote: Remote | None = None
) -> dict[tuple[str, ComponentRef], tuple[str, Blob | None]]:
    """planner.content.read_component_files (three batched reads; four with manifest-only
    components), with the dry run's error type."""
    try:
        return read_component_files(repo, registry, wanted, remote=remote)
    except UnknownComponentError as exc:
        raise DiffError(exc.message) from None


@dataclass
class _Draft:
    """A KV write before its old value is known."""

    step_id: str
    env: str
    key: str
    phase: str
    component: ComponentRef
    slot: str
    commit: str
    level: int
    version: str | None


def compute_plan(
    ordered: OrderedPlan,
    *,
    repo: Repo,
    registry: Registry,
    state: RepoState,
    targets: Mapping[str, NamespaceTargetLike],
) -> ComputedPlan:
    """Every tag change and KV write of ``ordered`` with its expected old value (see module doc)."""
    level_of = {sid: i for i, ids in enumerate(ordered.levels) for sid in ids}
    tags: list[TagChange] = []
    drafts: list[_Draft] = []
    verifies: list[VerifyCheck] = []
    marks: list[Mark] = []
    notices: list[Notice] = [Notice("warning", d.message) for d in ordered.diagnostics if d.severity == "warning"]
    seen_refs: dict[str, str] = {}
    unbound_envs: set[str] = set()

    def claim(ref: str, step_id: str) -> None:
        other = seen_refs.setdefault(ref, step_id)
        if other != step_id:
            raise DiffError(f"{ref} is changed by two steps ({other!r} and {step_id!r}); a plan moves a tag once")

    every: tuple[Step, ...] = (*ordered.steps, *ordered.marks)  # marks last, as reviewed and recorded
    for step in every:
        level = level_of.get(step.id, 0)
        if isinstance(step, CreateVersion):
            tag = build_tag(step.prefix, step.component, step.version)
            claim(tag.ref, step.id)
            cs = state.component(step.component)
            have = cs.versions.get(step.version) if cs else None
            if have is not None and have.commit != step.commit:
                raise DiffError(
                    f"{tag} already exists at {have.commit[:12]}; version tags are immutable "
                    f"(the plan wants {step.commit[:12]})"
                )
            tags.append(
                TagChange(
                    step.id,
                    tag.ref,
                    "noop" if have else "create",
                    have.object if have else None,
                    have.commit if have else None,
                    str(step.version) if have else None,
                    step.commit,
                    str(step.version),
                    version_message(step.component.name, step.version),
                    level,
                )
            )
        elif isinstance(step, MoveEnv):
            tag = build_tag(step.prefix, step.component, step.env)
            claim(tag.ref, step.id)
            cs = state.component(step.component)
            cur = cs.envs.get(step.env) if cs else None
            # In place only if it already names this version: v1.2.0-rc.1 and v1.2.0 may share a commit.
            in_place = (
                cur is not None
                and cur.tag.commit == step.commit
                and (step.version is None or cur.version is None or cur.version == step.version)
            )
            action: TagAction = "noop" if in_place else ("move" if cur else "create")
            tags.append(
                TagChange(
                    step.id,
                    tag.ref,
                    action,
                    cur.tag.object if cur else None,
                    cur.tag.commit if cur else None,
                    str(cur.version) if cur and cur.version else None,
                    step.commit,
                    str(step.version) if step.version else None,
                    env_message(step.component.name, step.env),
                    level,
                )
            )
            if step.prefix == "logic":
                # Only components/ is synced to KV; logic needs a Worker rebuild to take effect.
                if not in_place:
                    notices.append(
                        Notice(
                            "needs-rebuild",
                            f"{step.component} moves in {step.env}: it is logic, rebuild and redeploy the Worker",
                            str(step.component),
                            step.env,
                        )
                    )
                continue
            target = targets.get(step.env)
            if target is None:
                unbound_envs.add(step.env)
                continue
            slots: list[tuple[str, str]] = []
            if step.version is not None:
                slots.append(("prepare", str(step.version)))
            slots.append(("project", step.env))
            for phase, slot in slots:
                for key in keys_for(target.layouts, step.component.namespace, step.component.name, slot):
                    version = str(step.version) if step.version else None
                    drafts.append(
                        _Draft(step.id, step.env, key, phase, step.component, slot, step.commit, level, version)
                    )
        elif isinstance(step, Verify):
            verifies.append(VerifyCheck(step.id, step.env, step.url, step.expect, step.within_seconds, level))
        else:
            marks.append(step)

    notices.extend(
        Notice("warning", f"no KV namespace is configured for {env}: its keys are not synced", env=env)
        for env in sorted(unbound_envs)
    )
    notices.extend(mark_notice(m) for m in marks)  # reviewers see every reject/override
    kv = _kv_changes(repo, registry, targets, drafts, state.source)
    steps = tuple(step_to_dict(s, level_of.get(s.id, 0)) for s in every)
    plan = ComputedPlan(
        format_version=FORMAT_VERSION,
        name=ordered.name,
        description=ordered.description,
        source_file=ordered.source_file,
        source_sha256=ordered.source_sha256,
        remote=remote_url(state.source, repo) if state.source is not None else state.remote,
        ledger_old=state.ledger,
        steps=steps,
        levels=ordered.levels,
        tags=tuple(tags),
        kv=tuple(kv),
        verifies=tuple(verifies),
        notices=tuple(notices),
    )
    return with_id(plan)


def _kv_changes(
    repo: Repo,
    registry: Registry,
    targets: Mapping[str, NamespaceTargetLike],
    drafts: list[_Draft],
    remote: Remote | None = None,
) -> list[KVChange]:
    files = _component_files(repo, registry, [(d.commit, d.component) for d in drafts], remote)
    # Expected old values: ONE get_many per namespace (envs sharing a store share the read).
    by_store: dict[int, tuple[KVStore, set[str]]] = {}
    for d in drafts:
        store = targets[d.env].store
        by_store.setdefault(id(store), (store, set()))[1].add(d.key)
    got: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {
        sid: {k: (sha256_hex(e.value), dict(e.metadata)) for k, e in store.get_many(sorted(keys)).items()}
        for sid, (store, keys) in by_store.items()
    }
    old = {env: got[id(targets[env].store)] for env in {d.env for d in drafts}}
    out: list[KVChange] = []
    seen: dict[tuple[str, str], str] = {}
    emitted: set[tuple[str, str]] = set()
    for d in drafts:
        path, blob = files[(d.commit, d.component)]
        if blob is None:
            raise DiffError(f"{d.component}: {path} does not exist at commit {d.commit[:12]}")
        new = sha256_hex(blob.data)
        prev = seen.setdefault((d.env, d.key), new)
        if prev != new:
            raise DiffError(f"KV key {d.key!r} in {d.env} would get two different values in one plan")
        if (d.env, d.key) in emitted:
            continue  # the same key reached twice (e.g. two layouts render alike)
        emitted.add((d.env, d.key))
        before, before_meta = old[d.env].get(d.key, (None, None))
        metadata = content_metadata(str(d.component), d.version, d.commit, blob.data)
        out.append(
            KVChange(
                d.step_id,
                d.env,
                d.key,
                "prepare" if d.phase == "prepare" else "project",
                str(d.component),
                d.slot,
                before,
                new,
                len(blob.data),
                blob.oid,
                path,
                d.commit,
                # The content alone is not enough: a promotion to a version with the same bytes
                # must still rewrite the version and commit its metadata names.
                before == new and before_meta == metadata,
                d.level,
                metadata,
            )
        )
    return out


@dataclass(frozen=True)
class ContentChange:
    """What an env's KV value changes from and to, for review (markdown diffs). Not in the artifact."""

    component: str
    env: str
    old_version: str | None
    new_version: str | None
    old_path: str | None
    new_path: str
    old: bytes | None  # None: the env did not exist, or the file was not there
    new: bytes


def content_changes(plan: ComputedPlan, repo: Repo, registry: Registry) -> list[ContentChange]:
    """Old (at the env's current commit) and new content of every env move that syncs to KV.

    Two batched reads: registries at the old and new commits, then the files (and the manifests
    at those commits in between, when a component is declared by a manifest alone).
    """
    moves = [t for t in plan.tags if t.action != "noop" and t.ref.startswith("refs/tags/components/")]
    moves = [t for t in moves if not Version.is_version_slot(t.ref.rsplit("/", 1)[-1])]
    wanted: list[tuple[str, ComponentRef]] = []
    parsed: list[tuple[TagChange, ComponentRef, str]] = []
    for t in moves:
        tag = TagName.parse(t.ref)
        ref, env = tag.component, str(tag.slot)
        parsed.append((t, ref, env))
        wanted.append((t.new_commit, ref))
        if t.old_commit:
            wanted.append((t.old_commit, ref))
    try:
        files = _component_files(repo, registry, wanted)
    except DiffError:
        return []  # a component unknown here: the review still has the tag/KV lists
    out: list[ContentChange] = []
    for t, ref, env in parsed:
        new_path, new_blob = files[(t.new_commit, ref)]
        if new_blob is None:
            continue
        old_path, old_blob = files[(t.old_commit, ref)] if t.old_commit else (None, None)
        if old_blob is not None and old_blob.oid == new_blob.oid and old_path == new_path:
            continue
        out.append(
            ContentChange(
                str(ref),
                env,
                t.old_version,
                t.new_version,
                old_path,
                new_path,
                old_blob.data if old_blob else None,
                new_blob.data,
            )
        )
    return out
