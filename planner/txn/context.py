"""What a running apply (or a recover) carries: its stores (counted), journal, progress and the
refs it moved; the KV target protocol apply needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.kv.base import KVEntry, KVStore
from planner.txn.journal import Journal

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


def store_for(ctx: Context, namespace: str) -> KVStore:
    try:
        return ctx.stores[namespace]
    except KeyError:
        raise PlannerError(f"no KV store configured for namespace {namespace!r}") from None


def by_namespace(items: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        out.setdefault(it["namespace"], []).append(it)
    return out
