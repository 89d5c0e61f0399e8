"""The KV steps shared by apply, compensation and recover: write new values from git blobs in
dependency order, read them back, write again what another apply deleted, restore old values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.blobs import read_blobs_by_id
from planner.content import sha256_hex
from planner.kv.base import KVEntry
from planner.txn.context import Context, by_namespace, store_for
from planner.txn.errors import (
    ApplyFailedError,
)


def write_kv(ctx: Context, items: Sequence[dict[str, Any]]) -> int:
    """Write new values (from git blobs), grouped by level then namespace: dependency order."""
    if not items:
        return 0
    values = read_blobs_by_id(ctx.repo, [i["blob"] for i in items])
    levels = sorted({i["level"] for i in items})
    for level in levels:
        for ns, group in sorted(by_namespace(i for i in items if i["level"] == level).items()):
            store_for(ctx, ns).put_many(KVEntry(i["key"], values[i["blob"]], i["metadata"]) for i in group)
    return len(items)


def read_back(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    for ns, group in sorted(by_namespace(items).items()):
        got = store_for(ctx, ns).get_many([i["key"] for i in group])
        bad = [i["key"] for i in group if i["key"] not in got or sha256_hex(got[i["key"]].value) != i["new_sha256"]]
        if bad:
            raise ApplyFailedError(f"read-back of {len(bad)} key(s) in {ns!r} did not match: {', '.join(bad[:5])}")


def rewrite_missing(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    """Read ``items`` back and write again those that are missing or differ (idempotent)."""
    for ns, group in sorted(by_namespace(items).items()):
        got = store_for(ctx, ns).get_many([i["key"] for i in group])
        bad = [i for i in group if i["key"] not in got or sha256_hex(got[i["key"]].value) != i["new_sha256"]]
        if bad:
            ctx.progress(f"prepare: writing {len(bad)} version key(s) again (deleted by another apply)")
            write_kv(ctx, bad)


def restore_kv(ctx: Context, items: Sequence[dict[str, Any]]) -> None:
    """Put back recorded old values; delete keys that did not exist. Idempotent."""
    for ns, group in sorted(by_namespace(items).items()):
        store = store_for(ctx, ns)
        puts = [
            KVEntry(i["key"], ctx.journal.read_blob(i["old"]["blob"]), i["old"]["metadata"]) for i in group if i["old"]
        ]
        dels = [i["key"] for i in group if not i["old"]]
        if puts:
            store.put_many(puts)
        if dels:
            store.delete_many(dels)
