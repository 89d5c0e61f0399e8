"""The KV store interface used by plan and apply. Values are bytes; errors are KVError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.errors import PlannerError


class KVError(PlannerError):
    """A KV store failed, or a key/value broke a limit."""


@dataclass(frozen=True)
class KVEntry:
    key: str
    value: bytes
    metadata: Mapping[str, Any] = field(default_factory=dict)


class KVStore(Protocol):
    """One namespace of a key-value store."""

    name: str  # human-readable, e.g. "sqlite:.planner/kv.sqlite#production" (never a secret)

    def get_many(self, keys: Sequence[str]) -> dict[str, KVEntry]:
        """Batched read; missing keys are absent from the result."""
        ...

    def put_many(self, entries: Iterable[KVEntry]) -> None:
        """Bulk write, all or an error."""
        ...

    def delete_many(self, keys: Iterable[str]) -> None: ...

    def list_keys(self, prefix: str = "") -> list[str]: ...
