"""The one object the resolver's passes share (``Scope``), and what a plan is compiled against
(``Inputs``: the registry, the remote, the config, the ledger, built once per command)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from planner.config import PlannerConfig
from planner.errors import DiagnosticSink, Span
from planner.lang import ast
from planner.model import ComponentRef, Prefix, Version
from planner.registry import Registry
from planner.state import RepoState
from planner.steps import Mark, MoveEnv, Step, Verify


class EnvHistory(Protocol):
    """Where an environment pointed before its last move (the release ledger implements this)."""

    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        """(commit, version at that commit or None), or None if nothing is recorded."""
        ...


# refs as written -> full commit id, or None when the ref does not name a commit.
RefResolver = Callable[[Sequence[str]], Mapping[str, str | None]]


@dataclass(frozen=True)
class Inputs:
    """What a plan is checked against. ``resolve_refs`` replaces the git lookup of
    ``create ... at REF`` refs (default: one batched ``git cat-file`` in ``config.root``)."""

    registry: Registry
    state: RepoState
    config: PlannerConfig
    ledger: EnvHistory | None = None
    resolve_refs: RefResolver | None = None


@dataclass
class Move:
    step: MoveEnv
    stmt: int  # index of the statement that asked for it


@dataclass
class PendingCopy:
    stmt: int
    src: str
    node: ast.Copy


Key = tuple[ComponentRef, str]  # (component, environment)
VersionKey = tuple[ComponentRef, Version]


@dataclass
class Scope:
    """Inputs, diagnostics, caches and every pass's results; each pass reads what earlier ones left."""

    plan: ast.Plan
    inputs: Inputs
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    # names (passes.names)
    universe: dict[ComponentRef, Prefix] = field(default_factory=dict)
    by_name: dict[str, list[ComponentRef]] = field(default_factory=dict)
    # Each known component -> the one ComponentRef object used for it throughout: lookups of an
    # identical key skip the dataclass __eq__ (~50,000 calls on a 10,000-statement plan).
    canon: dict[ComponentRef, ComponentRef] = field(default_factory=dict)
    # A large plan repeats the same few env names and versions: validate each text once.
    envs_ok: dict[str, str | None] = field(default_factory=dict)
    versions_ok: dict[str, Version | None] = field(default_factory=dict)
    expanded: dict[str, tuple[ComponentRef, ...]] = field(default_factory=dict)  # word -> components
    comps: list[list[tuple[ComponentRef, ast.Word]]] = field(default_factory=list)  # per statement
    rebuild_noted: set[ComponentRef] = field(default_factory=set)
    # environments (passes.envs)
    remote_envs: frozenset[str] = frozenset()  # environments with tags on the remote
    new_envs: dict[str, ast.NewEnvironment] = field(default_factory=dict)  # accepted declarations
    created_envs: tuple[str, ...] = ()  # declared and moved into
    # steps, per kind, and the step ids of each statement (for `after`)
    labels: dict[str, int] = field(default_factory=dict)
    stmt_steps: list[list[str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # creates, moves, verifies (statement order each)
    created: dict[VersionKey, str] = field(default_factory=dict)  # version -> commit (new or in place)
    create_ids: dict[VersionKey, str] = field(default_factory=dict)
    create_span: dict[VersionKey, Span] = field(default_factory=dict)
    moves: dict[Key, Move] = field(default_factory=dict)
    pending: dict[Key, PendingCopy] = field(default_factory=dict)  # copies until their source is known
    verifies: list[Verify] = field(default_factory=list)
    marks: tuple[Mark, ...] = ()
    after: list[tuple[int, int]] = field(default_factory=list)  # (statement before, statement after)
    edges: tuple[tuple[str, str], ...] = ()

    @property
    def stmts(self) -> tuple[ast.Statement, ...]:
        return self.plan.statements

    @property
    def state(self) -> RepoState:
        return self.inputs.state

    @property
    def config(self) -> PlannerConfig:
        return self.inputs.config
