"""Resolved steps: what a compiled plan asks for, before it is diffed against the world.

Frozen dataclasses, the contract between the language (``planner.lang``), ordering
(``planner.graph``), the dry run (``planner.plan.diff``) and apply (``planner.txn``). Each step has a
stable string ``id`` used as a graph node and in artifacts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from planner.errors import Diagnostic, Span
from planner.model import ComponentRef, Prefix, Version

MoveKind = Literal["promote", "copy", "rollback"]


@dataclass(frozen=True)
class CreateVersion:
    """Create the immutable version tag ``prefix/ns/name/version`` at ``commit``."""

    component: ComponentRef
    prefix: Prefix
    version: Version
    commit: str  # full object id the plan's REF resolved to
    at: str  # the REF as written (branch, tag or commit)
    span: Span | None = None

    @functools.cached_property  # graph node; read ~7 times per step while compiling
    def id(self) -> str:
        return f"create {self.component}@{self.version}"


@dataclass(frozen=True)
class MoveEnv:
    """Point the environment tag ``prefix/ns/name/env`` at ``commit`` (the target version's commit)."""

    component: ComponentRef
    prefix: Prefix
    env: str
    version: Version | None  # the version moved to; None when the source env points at no version
    commit: str
    kind: MoveKind
    from_env: str | None = None  # for kind == "copy"
    span: Span | None = None

    @functools.cached_property  # graph node; read ~7 times per step while compiling
    def id(self) -> str:
        return f"move {self.component}@{self.env}"


@dataclass(frozen=True)
class Verify:
    """An HTTP check run after every move into ``env``."""

    env: str
    url: str
    expect: int
    within_seconds: float | None = None
    index: int = 0  # position among the plan's verify statements, keeps ids unique
    span: Span | None = None

    @functools.cached_property  # graph node; read ~7 times per step while compiling
    def id(self) -> str:
        return f"verify {self.env}#{self.index}"


@dataclass(frozen=True)
class Reject:
    """``reject C VERSION ["reason"]``: mark an existing version rejected (``planner.policy``).

    Moves no tag and writes no key: apply records it in the release ledger, and later plans may
    not move an environment to the version without an ``Override``.
    """

    component: ComponentRef
    version: Version
    reason: str = ""
    span: Span | None = None

    @property
    def kind(self) -> Literal["reject"]:
        return "reject"

    @functools.cached_property  # graph node; read ~7 times per step while compiling
    def id(self) -> str:
        return f"reject {self.component}@{self.version}"


@dataclass(frozen=True)
class Override:
    """``override C VERSION ["reason"]``: lift a rejection so this (and later) plans may promote it."""

    component: ComponentRef
    version: Version
    reason: str = ""
    span: Span | None = None

    @property
    def kind(self) -> Literal["override"]:
        return "override"

    @functools.cached_property  # graph node; read ~7 times per step while compiling
    def id(self) -> str:
        return f"override {self.component}@{self.version}"


Mark = Reject | Override  # policy marks: recorded when applied, never executed (OrderedPlan.marks)
MARKS: dict[str, type[Mark]] = {"reject": Reject, "override": Override}  # kind -> step (ast.MARK_STATEMENTS)
Step = CreateVersion | MoveEnv | Verify | Reject | Override


@dataclass(frozen=True)
class OrderedPlan:
    """A compiled plan: steps in dependency order, grouped into parallel levels (ties sorted).

    Every step is in exactly one level. The marks (``Reject``/``Override``) are kept apart, in
    statement order: they are recorded when the plan is applied, never executed, so they are not
    graph nodes (no level, no edge) and their order is the order the ledger replays them in.
    """

    name: str
    description: str
    source_file: str
    source_sha256: str
    steps: tuple[Step, ...]  # topological order (moves, creates, verifies; never marks)
    levels: tuple[tuple[str, ...], ...]  # step ids per level
    diagnostics: tuple[Diagnostic, ...] = ()  # warnings that did not stop compilation
    edges: tuple[tuple[str, str], ...] = ()  # (before id, after id), sorted; for `planner graph`
    marks: tuple[Mark, ...] = ()  # reject/override statements, in statement order
    new_environments: tuple[str, ...] = ()  # `create environment` declarations moved into, in order
