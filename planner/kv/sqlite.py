"""The embedded default store: one SQLite file, namespaces kept apart by a column.

Used when nothing else is configured, so a demo needs no account. Bulk operations run in one
transaction each (all or nothing). WAL lets a reader (plan) run while a writer (apply) works.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from planner.kv.base import KVEntry, KVError
from planner.kv.limits import check_entry, check_key, check_text

__all__ = ["SqliteKV"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     BLOB NOT NULL,
    metadata  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""
# SQLite's default limit on bound variables is 32766 (>= 3.32); stay far below it.
_CHUNK = 500


class SqliteKV:
    """One namespace of a SQLite file. Opened lazily per operation; safe to keep around."""

    def __init__(self, path: Path | str, namespace: str) -> None:
        self.path = Path(path)
        self.namespace = namespace
        self.name = f"sqlite:{self.path}#{namespace}"

    def __repr__(self) -> str:
        return f"SqliteKV({self.name!r})"

    def _exists(self) -> bool:
        """Reads of a store that was never written see it empty and must not create it."""
        return self.path.exists()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise KVError(f"{self.name}: cannot open the store: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            yield conn
        except sqlite3.Error as exc:
            raise KVError(f"{self.name}: {exc}") from exc
        finally:
            conn.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, KVEntry]:
        wanted = list(dict.fromkeys(keys))
        for k in wanted:
            check_key(k)
        out: dict[str, KVEntry] = {}
        if not wanted or not self._exists():
            return out
        with self._connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, value, metadata FROM kv WHERE namespace = ? AND key IN ({marks})",
                    [self.namespace, *chunk],
                )
                for key, value, meta in rows:
                    out[key] = KVEntry(key, bytes(value), _load_meta(meta))
        return out

    def put_many(self, entries: Iterable[KVEntry]) -> None:
        items = list(entries)
        for e in items:
            check_entry(e)
        if not items:
            return
        rows = [(self.namespace, e.key, e.value, json.dumps(dict(e.metadata), sort_keys=True)) for e in items]
        with self._connect() as conn, _transaction(conn):
            conn.executemany(
                "INSERT INTO kv (namespace, key, value, metadata) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata",
                rows,
            )

    def delete_many(self, keys: Iterable[str]) -> None:
        rows = [(self.namespace, k) for k in dict.fromkeys(keys)]
        for _, k in rows:
            check_key(k)
        if not rows or not self._exists():
            return
        with self._connect() as conn, _transaction(conn):
            conn.executemany("DELETE FROM kv WHERE namespace = ? AND key = ?", rows)

    def list_keys(self, prefix: str = "") -> list[str]:
        check_text(prefix, f"prefix {prefix!r}")
        if not self._exists():
            return []
        with self._connect() as conn:
            # Range scan instead of LIKE: no wildcard escaping, and it uses the primary key.
            if prefix:
                rows = conn.execute(
                    "SELECT key FROM kv WHERE namespace = ? AND key >= ? AND key < ? ORDER BY key",
                    [self.namespace, prefix, prefix + "\U0010ffff"],
                )
            else:
                rows = conn.execute("SELECT key FROM kv WHERE namespace = ? ORDER BY key", [self.namespace])
            return [k for (k,) in rows if k.startswith(prefix)]


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _load_meta(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
