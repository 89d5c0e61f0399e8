"""Candidate measured by bench/bench_plan_schema.py, NOT used by the planner: the structural half
of planner.artifact_schema as msgspec Structs (decoded straight from the JSON text), with its
error strings mapped back to the planner's messages. msgspec reports an error as one string
(``Expected `str`, got `int` - at `$.tags[0].ref```), so the mapping parses that text."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from planner.model import ComponentRef, ModelError, TagName, Version, parse_slot, validate_env

Text = Annotated[str, Meta(max_length=100_000)]
Short = Annotated[str, Meta(max_length=1000)]
Long = Annotated[str, Meta(max_length=4096)]
Oid = Annotated[str, Meta(pattern=r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
Sha = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
Level = Annotated[int, Meta(ge=0)]
Status = Annotated[int, Meta(ge=100, le=599)]
Url = Annotated[str, Meta(max_length=4096, pattern=r"^https?://[^\s\x00-\x1f]*$")]
Span = Annotated[str, Meta(max_length=5000)] | None
Prefix = Literal["components", "logic"]


def _parsed(**fields: tuple[Any, Any]) -> None:
    """Model checks msgspec has no field type for (raised from __post_init__, located by msgspec)."""
    for name, (parse, value) in fields.items():
        if value is not None:
            try:
                parse(value)
            except ModelError as exc:
                raise ValueError(f"{name}: {exc.message}") from None


class _S(Struct, forbid_unknown_fields=True, tag_field="kind"):
    pass


class Create(_S, tag="create"):
    id: Short
    level: Level
    component: Short
    prefix: Prefix
    version: Short
    commit: Oid
    at: Short
    span: Span = None

    def __post_init__(self) -> None:
        _parsed(component=(ComponentRef.parse, self.component), version=(Version.parse, self.version))


class _Move(_S):
    id: Short
    level: Level
    component: Short
    prefix: Prefix
    env: Short
    version: Short | None
    commit: Oid
    from_env: Short | None = None
    span: Span = None

    def __post_init__(self) -> None:
        _parsed(
            component=(ComponentRef.parse, self.component),
            env=(validate_env, self.env),
            version=(Version.parse, self.version),
            from_env=(validate_env, self.from_env),
        )


class Promote(_Move, tag="promote"):
    pass


class Copy(_Move, tag="copy"):
    pass


class Rollback(_Move, tag="rollback"):
    pass


class VerifyStep(_S, tag="verify"):
    id: Short
    level: Level
    env: Short
    url: Url
    expect: Status
    within_seconds: Annotated[float, Meta(ge=0)] | None

    span: Span = None

    def __post_init__(self) -> None:
        _parsed(env=(validate_env, self.env))


class _Mark(_S):
    id: Short
    level: Level
    component: Short
    version: Short
    reason: Text
    span: Span = None

    def __post_init__(self) -> None:
        _parsed(component=(ComponentRef.parse, self.component), version=(Version.parse, self.version))


class Reject(_Mark, tag="reject"):
    pass


class Override(_Mark, tag="override"):
    pass


class Tag(Struct, forbid_unknown_fields=True):
    step_id: Short
    ref: Short
    action: Literal["create", "move", "noop"]
    old_object: Oid | None
    old_commit: Oid | None
    old_version: Short | None
    new_commit: Oid
    new_version: Short | None
    message: Short
    level: Level

    def __post_init__(self) -> None:
        _parsed(
            ref=(TagName.parse, self.ref),
            old_version=(Version.parse, self.old_version),
            new_version=(Version.parse, self.new_version),
        )


class KV(Struct, forbid_unknown_fields=True):
    step_id: Short
    namespace: Short
    key: Annotated[str, Meta(min_length=1, max_length=512)]
    phase: Literal["prepare", "project"]
    component: Short
    slot: Short
    old_sha256: Sha | None
    new_sha256: Sha
    size: Level
    blob: Oid
    path: Annotated[str, Meta(min_length=1, max_length=4096)]
    commit: Oid
    unchanged: bool
    level: Level
    metadata: dict[str, str | int | float | bool | None] | None = None

    def __post_init__(self) -> None:
        _parsed(
            namespace=(validate_env, self.namespace),
            component=(ComponentRef.parse, self.component),
            slot=(parse_slot, self.slot),
        )


class Verify(Struct, forbid_unknown_fields=True):
    step_id: Short
    env: Short
    url: Url
    expect: Status
    within_seconds: Annotated[float, Meta(ge=0)] | None
    level: Level

    def __post_init__(self) -> None:
        _parsed(env=(validate_env, self.env))


class Notice(Struct, forbid_unknown_fields=True):
    kind: Literal["needs-rebuild", "warning"]
    message: Text
    component: Short | None = None
    env: Short | None = None


class Plan(Struct, forbid_unknown_fields=True):
    format_version: int
    name: Text
    description: Text
    source_file: Long
    source_sha256: Sha
    remote: Long
    ledger_old: Oid | None
    steps: list[Create | Promote | Copy | Rollback | VerifyStep | Reject | Override]
    levels: list[list[Short]]
    tags: list[Tag]
    kv: list[KV]
    verifies: list[Verify]
    notices: list[Notice]
    plan_id: str = ""


_DECODER = msgspec.json.Decoder(Plan)
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "array": "an array",
    "object": "an object",
}
_GOT = {
    "int": "a number",
    "float": "a number",
    "null": "null",
    "str": "a string",
    "array": "an array",
    "object": "an object",
}


def _message(text: str) -> tuple[tuple[Any, ...], str]:
    m = _AT.match(text)
    assert m is not None
    path: tuple[Any, ...] = tuple(
        p.group(1) if p.group(1) else int(p.group(2)) for p in _PART.finditer(m.group("path") or "")
    )
    msg = m.group("msg")
    if t := re.match(r"Expected `(\w+)( \| null)?`, got `(\w+)`", msg):
        return path, f"must be {_TYPE_NAMES.get(t.group(1), t.group(1))}, not {_GOT.get(t.group(3), 'a boolean')}"
    if t := re.match(r"Object missing required field `(\w+)`", msg):
        return path, f"lacks {t.group(1)}"
    if t := re.match(r"Object contains unknown field `(\w+)`", msg):
        return (*path, t.group(1)), "is not a field of this object"
    if t := re.match(r"Invalid enum value '.*'", msg):
        return path, "must be one of the allowed values"
    if "must match pattern" in msg:
        return path, "must be a git object id or sha256 (lowercase hex digits)"
    if t := re.match(r"(\w+): (.*)", msg):
        return (*path, t.group(1)), t.group(2)
    return path, msg


def check(text: str) -> tuple[tuple[Any, ...], str] | None:
    """None if ``text`` is structurally a plan, else (path, message) of the first error."""
    try:
        _DECODER.decode(text)
    except msgspec.ValidationError as exc:
        return _message(str(exc))
    return None
