"""Re-derive KV from the environment tags on the remote: what should be there, what differs, repair.

For every ``components/`` component and every environment with a KV target, the env key
(``@staging``) and the key of the version the env points at (``@v1.2.0``) hold the raw file bytes
at the tag's commit. Reads are batched: one ``git cat-file --batch`` for the registries at the
tag commits, one for the files, one ``get_many`` per namespace; writes are one ``put_many`` each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from planner.content import read_component_files, sha256_hex
from planner.gitio import Repo
from planner.kv.base import KVEntry, KVError
from planner.kv.bindings import NamespaceTarget, content_metadata
from planner.kv.layout import keys_for
from planner.model import ComponentRef, ModelError
from planner.registry import load_registry
from planner.state import RepoState

__all__ = [
    "DesiredKey",
    "KeyStatus",
    "SyncError",
    "compare",
    "derive_keys",
    "desired_keys",
    "select_components",
    "write",
]

Action = Literal["create", "update", "metadata", "ok"]


class SyncError(KVError):
    """KV cannot be derived from the tags (unknown component, file missing at a tag)."""


@dataclass(frozen=True)
class DesiredKey:
    env: str
    component: str
    slot: str
    entry: KVEntry


@dataclass(frozen=True)
class KeyStatus:
    """One key: what the tags say it should hold versus what the store holds."""

    env: str
    key: str
    component: str
    slot: str
    action: Action  # create: missing; update: content differs; metadata: same content, stale metadata
    old_sha256: str | None
    new_sha256: str

    def to_dict(self) -> dict[str, str | None]:
        return {
            "env": self.env,
            "key": self.key,
            "component": self.component,
            "slot": self.slot,
            "action": self.action,
            "old_sha256": self.old_sha256,
            "new_sha256": self.new_sha256,
        }


def select_components(state: RepoState, names: Iterable[str]) -> set[ComponentRef] | None:
    wanted = list(names)
    if not wanted:
        return None
    out: set[ComponentRef] = set()
    for n in wanted:
        try:
            ref = ComponentRef.parse(n)
        except ModelError as exc:
            raise SyncError(exc.message) from None
        if ref not in state.components:
            raise SyncError(f"{ref} has no tags on the remote {state.remote}")
        out.add(ref)
    return out


def derive_keys(
    repo: Path | str,
    state: RepoState,
    targets: Mapping[str, NamespaceTarget],
    components: set[ComponentRef] | None = None,
) -> tuple[list[DesiredKey], list[str]]:
    """What the env tags say every KV key of the targets' environments should hold, and one problem
    per component/env whose keys cannot be derived (unknown component, file missing at its tag).

    A problem skips only that component's keys: one bad component must not block every other one.
    """
    wanted: list[tuple[str, ComponentRef, str, str | None, str]] = []  # env, ref, commit, version, slot
    for ref, cs in state.components.items():
        if cs.prefix != "components" or (components is not None and ref not in components):
            continue
        for env, ptr in cs.envs.items():
            if env not in targets:
                continue
            version = str(ptr.version) if ptr.version else None
            if version:
                wanted.append((env, ref, ptr.tag.commit, version, version))
            wanted.append((env, ref, ptr.tag.commit, version, env))
    if not wanted:
        return [], []
    # The current registry (edgit's plus component.yaml manifests) is read only if a component is
    # missing from .edgit/components.json at its tag commit (registered later, or by a manifest).
    files = read_component_files(
        Repo(Path(repo)),
        lambda: load_registry(Path(repo)),
        [(w[2], w[1]) for w in wanted],
        via_trees=False,
        skip_unknown=True,
        remote=state.source,  # a commit someone else released: fetched, or named with how to get it
    )
    out: list[DesiredKey] = []
    problems: dict[tuple[str, str], str] = {}  # (component, env) -> message; one per pair, not per slot
    for env, ref, commit, version, slot in wanted:
        if (commit, ref) not in files:
            problems.setdefault(
                (str(ref), env),
                f"{ref} in {env}: not in the registry at {commit[:12]} nor in the current one; its keys were skipped",
            )
            continue
        path, blob = files[(commit, ref)]
        if blob is None:
            problems.setdefault(
                (str(ref), env), f"{ref} in {env}: {path} does not exist at commit {commit[:12]}; its keys were skipped"
            )
            continue
        data = blob.data
        meta = content_metadata(str(ref), version, commit, data)
        for key in keys_for(targets[env].layouts, ref.namespace, ref.name, slot):
            out.append(DesiredKey(env, str(ref), slot, KVEntry(key, data, meta)))
    return out, [problems[k] for k in sorted(problems)]


def desired_keys(
    repo: Path | str,
    state: RepoState,
    targets: Mapping[str, NamespaceTarget],
    components: set[ComponentRef] | None = None,
) -> list[DesiredKey]:
    """:func:`derive_keys`, strict: the first problem raises SyncError."""
    out, problems = derive_keys(repo, state, targets, components)
    if problems:
        raise SyncError(problems[0])
    return out


def compare(desired: list[DesiredKey], targets: Mapping[str, NamespaceTarget]) -> list[KeyStatus]:
    """Every desired key with its status; ONE batched read per namespace."""
    out: list[KeyStatus] = []
    for env in sorted({d.env for d in desired}):
        mine = [d for d in desired if d.env == env]
        have = targets[env].store.get_many([d.entry.key for d in mine])
        for d in mine:
            new = sha256_hex(d.entry.value)
            cur = have.get(d.entry.key)
            old = sha256_hex(cur.value) if cur is not None else None
            action: Action
            if cur is None:
                action = "create"
            elif old != new:
                action = "update"
            elif dict(cur.metadata) != dict(d.entry.metadata):
                action = "metadata"
            else:
                action = "ok"
            out.append(KeyStatus(env, d.entry.key, d.component, d.slot, action, old, new))
    return sorted(out, key=lambda s: (s.env, s.key))


def write(desired: list[DesiredKey], statuses: list[KeyStatus], targets: Mapping[str, NamespaceTarget]) -> int:
    """Write every key that is not ``ok``: one bulk put per namespace. Returns keys written."""
    todo = {(s.env, s.key) for s in statuses if s.action != "ok"}
    written = 0
    for env in sorted({e for e, _ in todo}):
        entries = [d.entry for d in desired if d.env == env and (env, d.entry.key) in todo]
        targets[env].store.put_many(entries)
        written += len(entries)
    return written
