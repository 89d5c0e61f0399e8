"""Cloudflare Workers KV limits, enforced by every store so SQLite demos fail where production would."""

from __future__ import annotations

import json

from planner.kv.base import KVEntry, KVError

__all__ = ["MAX_KEY_BYTES", "MAX_METADATA_BYTES", "MAX_VALUE_BYTES", "check_entry", "check_key", "check_text"]

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_METADATA_BYTES = 1024


def describe(entry: KVEntry) -> str:
    """Name the component a key belongs to when its metadata says so (errors must name it)."""
    comp = entry.metadata.get("component") if entry.metadata else None
    return f"key {entry.key!r}" + (f" (component {comp})" if comp else "")


def check_text(text: str, what: str) -> None:
    """Keys and prefixes must be encodable as UTF-8 (a lone surrogate is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise KVError(f"{what}: not valid Unicode text (contains a lone surrogate)") from None


def check_key(key: str, what: str | None = None) -> None:
    what = what or f"key {key!r}"
    if key in ("", ".", ".."):
        raise KVError(f"{what}: a KV key may not be empty, '.' or '..'")
    check_text(key, what)
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise KVError(f"{what}: key is {size} bytes, the KV limit is {MAX_KEY_BYTES}")


def metadata_json(entry: KVEntry) -> str:
    try:
        return json.dumps(dict(entry.metadata), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise KVError(f"{describe(entry)}: metadata is not JSON-serialisable: {exc}") from None


def check_entry(entry: KVEntry) -> None:
    """Raise KVError naming the key (and component) if the entry breaks a KV limit."""
    what = describe(entry)
    check_key(entry.key, what)
    if not isinstance(entry.value, bytes):
        raise KVError(f"{what}: value must be bytes")
    if len(entry.value) > MAX_VALUE_BYTES:
        raise KVError(f"{what}: value is {len(entry.value)} bytes, the KV limit is {MAX_VALUE_BYTES} (25 MiB)")
    meta = len(metadata_json(entry).encode("utf-8"))
    if meta > MAX_METADATA_BYTES:
        raise KVError(f"{what}: metadata is {meta} bytes as JSON, the KV limit is {MAX_METADATA_BYTES}")
