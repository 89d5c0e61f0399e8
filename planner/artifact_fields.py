"""The field checks plan.json is made of (planner.artifact_schema composes them per object): each
returns the value, typed, or raises :class:`SchemaError` carrying the JSON path of the field
(``tags[0].ref``), so the loader can point at its place in the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from planner.model import ComponentRef, ModelError, TagName, Version, validate_env

Path = tuple[str | int, ...]

_OID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_TEXT = 100_000  # names, descriptions, messages: generous, but not unbounded


class SchemaError(Exception):
    """A field of plan.json has the wrong type or value; ``path`` locates it."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    def where(self) -> str:
        return format_path(self.path)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


# --- scalar checks: each returns the value (typed) or raises SchemaError at ``path`` ---


def type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def text(value: Any, path: Path, *, max_len: int = _MAX_TEXT, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise SchemaError(path, f"must be a string, not {type_name(value)}")
    if not empty and not value:
        raise SchemaError(path, "must not be empty")
    if len(value) > max_len:
        raise SchemaError(path, f"is longer than {max_len} characters")
    return value


def opt_text(value: Any, path: Path, *, max_len: int = _MAX_TEXT) -> str | None:
    return None if value is None else text(value, path, max_len=max_len)


def integer(value: Any, path: Path, *, low: int = 0, high: int | None = None) -> int:
    # bool is an int subclass in Python, but `true` is not a number in a plan.
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(path, f"must be an integer, not {type_name(value)}")
    if value < low or (high is not None and value > high):
        raise SchemaError(path, f"must be between {low} and {high}" if high is not None else f"must be >= {low}")
    return value


def boolean(value: Any, path: Path) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(path, f"must be true or false, not {type_name(value)}")
    return value


def oid(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not _OID.match(value):
        raise SchemaError(path, "must be a git object id (40 or 64 lowercase hex digits)")
    return value


def opt_oid(value: Any, path: Path) -> str | None:
    return None if value is None else oid(value, path)


def sha256(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise SchemaError(path, "must be a sha256 (64 lowercase hex digits)")
    return value


def choice(value: Any, path: Path, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise SchemaError(path, f"must be one of {', '.join(allowed)}")
    return value


def parsed(value: Any, path: Path, parse: Callable[[str], Any]) -> Any:
    text(value, path, max_len=1000)
    try:
        return parse(value)
    except ModelError as exc:
        raise SchemaError(path, exc.message) from None


def version(value: Any, path: Path) -> Version:
    v: Version = parsed(value, path, Version.parse)
    return v


def opt_version(value: Any, path: Path) -> Version | None:
    return None if value is None else version(value, path)


def component(value: Any, path: Path) -> ComponentRef:
    c: ComponentRef = parsed(value, path, ComponentRef.parse)
    return c


def env(value: Any, path: Path) -> str:
    e: str = parsed(value, path, validate_env)
    return e


def tag_ref(value: Any, path: Path) -> TagName:
    """Only ``refs/tags/{components|logic}/<ns>/<name>/<slot>``: never a branch, never another tag."""
    text(value, path, max_len=1000)
    if not value.startswith("refs/tags/"):
        raise SchemaError(
            path, f"{value!r} is not a tag ref (expected refs/tags/{{components|logic}}/<ns>/<name>/<slot>)"
        )
    tag: TagName = parsed(value, path, TagName.parse)
    if tag.ref != value:
        raise SchemaError(path, f"{value!r} is not in canonical form (expected {tag.ref!r})")
    return tag


def obj(value: Any, path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(path, f"must be an object, not {type_name(value)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise SchemaError(path, f"lacks {', '.join(missing)}")
    unknown = sorted(k for k in value if k not in required and k not in optional)
    if unknown:
        raise SchemaError((*path, unknown[0]), "is not a field of this object")
    return value


def array(value: Any, path: Path) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(path, f"must be an array, not {type_name(value)}")
    return value
