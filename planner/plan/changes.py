"""The computed plan: every tag and KV change with its expected old value.

This is the contract between the dry run (``planner.plan.diff`` computes it, ``planner.render``
prints it, ``planner.artifact`` saves/loads it as plan.json) and apply (``planner.txn``
executes exactly these changes). Frozen data, no I/O, no secrets: refs, versions, object ids,
content hashes and sizes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TagAction = Literal["create", "move", "noop"]
KVPhase = Literal["prepare", "project"]  # version-addressed keys first, env keys after the push


@dataclass(frozen=True)
class TagChange:
    step_id: str  # the OrderedPlan step this comes from
    ref: str  # refs/tags/{prefix}/{ns}/{name}/{slot}
    action: TagAction
    old_object: str | None  # tag object the remote has now (the lease); None: must not exist
    old_commit: str | None
    old_version: str | None  # what the env pointed at, for display ("v1.0.0"), None if none/unknown
    new_commit: str  # commit the new annotated tag points at (peeled, never a nested tag)
    new_version: str | None
    message: str  # edgit's message: "Release {name} {version}" / "Set {name} to {env}"
    level: int  # parallel level of the step


@dataclass(frozen=True)
class KVChange:
    step_id: str
    namespace: str  # the store/namespace name (never a secret), e.g. "production"
    key: str
    phase: KVPhase
    component: str  # "prompts/extraction"
    slot: str  # "v1.1.0" or "staging"
    old_sha256: str | None  # content hash the store has now; None: key missing
    new_sha256: str
    size: int
    blob: str  # git blob id of the content at the target commit (value is read from git at apply)
    path: str  # file path at that commit
    commit: str
    unchanged: bool  # same content AND metadata: listed for review, not written
    level: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyCheck:
    step_id: str
    env: str
    url: str
    expect: int
    within_seconds: float | None
    level: int


@dataclass(frozen=True)
class Notice:
    kind: Literal["needs-rebuild", "warning"]
    message: str
    component: str | None = None
    env: str | None = None


@dataclass(frozen=True)
class ComputedPlan:
    format_version: int
    name: str
    description: str
    source_file: str
    source_sha256: str
    remote: str  # URL or path, credentials removed
    ledger_old: str | None  # refs/planner/ledger on the remote when planned (the ledger's lease)
    steps: tuple[dict[str, Any], ...]  # ordered steps as plain data (id, kind, level, fields)
    levels: tuple[tuple[str, ...], ...]
    tags: tuple[TagChange, ...]
    kv: tuple[KVChange, ...]
    verifies: tuple[VerifyCheck, ...]
    notices: tuple[Notice, ...]
    plan_id: str = ""  # sha256 of the canonical JSON of everything above

    @property
    def has_changes(self) -> bool:
        return any(t.action != "noop" for t in self.tags) or any(not k.unchanged for k in self.kv)
