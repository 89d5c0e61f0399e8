"""Candidate measured by bench/bench_plan_schema.py, NOT used by the planner: the structural half
of planner.artifact_schema (types, required/unknown fields, formats) as pydantic v2 models, with
its error types mapped back to the planner's messages. The cross-field checks (ids agree with
their steps, levels, duplicates) are not expressible as field types and would stay as code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from planner.model import ComponentRef, ModelError, TagName, Version, parse_slot, validate_env

_OID_RE, _SHA_RE = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$", r"^[0-9a-f]{64}$"
_PATTERN_MESSAGES = {
    _OID_RE: "must be a git object id (40 or 64 lowercase hex digits)",
    _SHA_RE: "must be a sha256 (64 lowercase hex digits)",
}


def _parsed(parse: Any) -> AfterValidator:
    def check(value: str) -> str:
        try:
            parse(value)
        except ModelError as exc:
            raise ValueError(exc.message) from None
        return value

    return AfterValidator(check)


Text = Annotated[str, StringConstraints(max_length=100_000)]
Short = Annotated[str, StringConstraints(max_length=1000)]
Long = Annotated[str, StringConstraints(max_length=4096)]
Oid = Annotated[str, StringConstraints(pattern=_OID_RE)]
Sha = Annotated[str, StringConstraints(pattern=_SHA_RE)]
Level = Annotated[int, Field(ge=0)]
Status = Annotated[int, Field(ge=100, le=599)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
Url = Annotated[Long, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f]*$")]
Comp = Annotated[Short, _parsed(ComponentRef.parse)]
Ver = Annotated[Short, _parsed(Version.parse)]
Env = Annotated[Short, _parsed(validate_env)]
Slot = Annotated[Short, _parsed(parse_slot)]
Ref = Annotated[Short, _parsed(TagName.parse)]
Prefix = Literal["components", "logic"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Create(_Strict):
    kind: Literal["create"]
    id: Short
    level: Level
    component: Comp
    prefix: Prefix
    version: Ver
    commit: Oid
    at: Short
    span: Annotated[str, StringConstraints(max_length=5000)] | None = None


class Move(_Strict):
    kind: Literal["promote", "copy", "rollback"]
    id: Short
    level: Level
    component: Comp
    prefix: Prefix
    env: Env
    version: Ver | None
    commit: Oid
    from_env: Env | None = None
    span: Annotated[str, StringConstraints(max_length=5000)] | None = None


class VerifyStep(_Strict):
    kind: Literal["verify"]
    id: Short
    level: Level
    env: Env
    url: Url
    expect: Status
    within_seconds: Seconds
    span: Annotated[str, StringConstraints(max_length=5000)] | None = None


class Mark(_Strict):
    kind: Literal["reject", "override"]
    id: Short
    level: Level
    component: Comp
    version: Ver
    reason: Text
    span: Annotated[str, StringConstraints(max_length=5000)] | None = None


class Tag(_Strict):
    step_id: Short
    ref: Ref
    action: Literal["create", "move", "noop"]
    old_object: Oid | None
    old_commit: Oid | None
    old_version: Ver | None
    new_commit: Oid
    new_version: Ver | None
    message: Short
    level: Level


class KV(_Strict):
    step_id: Short
    namespace: Env
    key: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    phase: Literal["prepare", "project"]
    component: Comp
    slot: Slot
    old_sha256: Sha | None
    new_sha256: Sha
    size: Level
    blob: Oid
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    commit: Oid
    unchanged: bool
    level: Level
    metadata: dict[str, str | int | float | bool | None] | None = None


class Verify(_Strict):
    step_id: Short
    env: Env
    url: Url
    expect: Status
    within_seconds: Seconds
    level: Level


class Notice(_Strict):
    kind: Literal["needs-rebuild", "warning"]
    message: Text
    component: Short | None = None
    env: Short | None = None


class Plan(_Strict):
    format_version: int
    plan_id: Literal[""] | Sha = ""
    name: Text
    description: Text
    source_file: Long
    source_sha256: Sha
    remote: Long
    ledger_old: Oid | None
    steps: list[Annotated[Create | Move | VerifyStep | Mark, Field(discriminator="kind")]]
    levels: list[list[Short]]
    tags: list[Tag]
    kv: list[KV]
    verifies: list[Verify]
    notices: list[Notice]


_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "list_type": "an array",
    "model_type": "an object",
    "dict_type": "an object",
}


def _message(err: Any) -> tuple[tuple[Any, ...], str]:
    """(JSON path, the planner's message) for one pydantic error."""
    kind, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx", {})
    loc = tuple(p for i, p in enumerate(loc) if not (i >= 2 and loc[i - 2] == "steps" and isinstance(p, str)))
    if kind in _EXPECTED:
        return loc, f"must be {_EXPECTED[kind]}, not {_TYPES.get(type(err['input']), 'a number')}"
    if kind == "missing":
        return loc[:-1], f"lacks {loc[-1]}"
    if kind == "extra_forbidden":
        return loc, "is not a field of this object"
    if kind in ("literal_error", "union_tag_invalid"):
        return loc, f"must be one of {ctx.get('expected', ctx.get('expected_tags', '')).replace(chr(39), '')}"
    if kind == "string_pattern_mismatch":
        return loc, _PATTERN_MESSAGES.get(ctx["pattern"], "must be an http:// or https:// URL")
    if kind in ("greater_than_equal", "less_than_equal"):
        return loc, f"must be {'>=' if kind == 'greater_than_equal' else '<='} {ctx.get('ge', ctx.get('le'))}"
    if kind == "string_too_long":
        return loc, f"is longer than {ctx['max_length']} characters"
    return loc, str(err["msg"]).removeprefix("Value error, ")


def check(data: Any) -> tuple[tuple[Any, ...], str] | None:
    """None if ``data`` is structurally a plan, else (path, message) of the first error."""
    try:
        Plan.model_validate(data)
    except ValidationError as exc:
        return _message(exc.errors(include_url=False)[0])
    return None
