"""The plan AST: frozen dataclasses, each carrying the Span of the text it came from.

Names are kept as written (``Word``) so the resolver can validate them and point at the exact
token; nothing here has been checked against the registry or the remote yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from planner.errors import Span


@dataclass(frozen=True)
class Word:
    """A token as written, with its position."""

    text: str
    span: Span


@dataclass(frozen=True)
class Create:
    components: tuple[Word, ...]
    version: Word
    ref: Word
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Promote:
    components: tuple[Word, ...]
    version: Word
    env: Word
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Copy:
    """``promote C from SRC to DST``: DST gets what SRC holds (after this plan's moves into SRC)."""

    components: tuple[Word, ...]
    from_env: Word
    env: Word
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Rollback:
    """``rollback C in ENV [to VERSION]``; without a version: the env's previous target (ledger)."""

    components: tuple[Word, ...]
    env: Word
    version: Word | None
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


@dataclass(frozen=True)
class VerifyStmt:
    env: Word
    url: Word  # unquoted
    status: Word
    within: Word | None
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


@dataclass(frozen=True)
class MarkStatement:
    """A statement of reject's shape, ``KEYWORD C VERSION ["reason"]``: a mark on a version.

    Table-driven: a new one is a subclass with its ``kind``, a row of ``MARK_STATEMENTS``, a grammar
    rule of that name and its step in ``planner.steps.MARKS``; the builder and the resolver read
    the tables, and apply records every mark in the ledger.
    """

    components: tuple[Word, ...]
    version: Word
    reason: Word | None
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()
    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class Reject(MarkStatement):
    """``reject C VERSION ["reason"]``: the version may not be promoted again without an override."""

    kind: ClassVar[str] = "reject"


@dataclass(frozen=True)
class Override(MarkStatement):
    """``override C VERSION ["reason"]``: lift a rejection so this plan may promote the version."""

    kind: ClassVar[str] = "override"


MARK_STATEMENTS: dict[str, type[MarkStatement]] = {c.kind: c for c in (Reject, Override)}  # grammar rule -> node


@dataclass(frozen=True)
class NewEnvironment:
    """``create environment ENV``: this plan may move components into ENV though it has no tags yet."""

    env: Word
    span: Span
    label: Word | None = None
    after: tuple[Word, ...] = ()


Statement = Create | Promote | Copy | Rollback | VerifyStmt | Reject | Override | NewEnvironment


@dataclass(frozen=True)
class Plan:
    name: Word
    description: Word | None
    statements: tuple[Statement, ...]
    span: Span
