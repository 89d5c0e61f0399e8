"""plan.json: the saved, reviewable form of a ComputedPlan that apply consumes.

``plan_id`` is the sha256 of the canonical JSON (sorted keys, compact separators, UTF-8, no NaN)
of every field except ``plan_id``. Floats that are whole numbers are written as integers, so the
id does not depend on how a number was spelled. Loading refuses an unknown ``format_version``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from planner.artifact_fields import SchemaError
from planner.artifact_schema import check_plan, locate
from planner.errors import Diagnostic, DiagnosticError, PlannerError, Span
from planner.plan.changes import ComputedPlan, KVChange, Notice, TagChange, VerifyCheck

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})


class ArtifactError(PlannerError):
    """plan.json is malformed, of an unknown version, or its id does not match its content."""


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _norm(value: Any) -> Any:
    """Plain JSON data: dataclasses to dicts, tuples to lists, whole floats to ints (no deep copies)."""
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ArtifactError("plan contains a non-finite number")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.get(type(value))
        if names is None:
            names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {n: _norm(getattr(value, n)) for n in names}
    raise ArtifactError(f"cannot serialise {type(value).__name__} in a plan")


def to_dict(plan: ComputedPlan) -> dict[str, Any]:
    result: dict[str, Any] = _norm(plan)
    return result


def _canonical(plain: Any) -> str:
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def plan_id(plan: ComputedPlan) -> str:
    d = to_dict(plan)
    d.pop("plan_id", None)
    return hashlib.sha256(_canonical(d).encode("utf-8")).hexdigest()


def with_id(plan: ComputedPlan) -> ComputedPlan:
    return dataclasses.replace(plan, plan_id=plan_id(plan))


SHORT_ID = 12  # hex digits of a plan id in human output; JSON and artifacts carry all 64
_HEX = frozenset("0123456789abcdef")


def short_id(pid: str) -> str:
    return pid[:SHORT_ID]


def not_approved(pid: str, required: str) -> PlannerError:
    from planner.txn.errors import RequireIdError

    return RequireIdError(
        f"plan {short_id(pid)} is not the approved plan: --require-id {required[: SHORT_ID * 2]} names another "
        "plan (re-run `planner plan` and have the new plan reviewed); nothing was changed"
    )


def match_require_id(pid: str, required: str) -> str:
    """The full id ``required`` names: any prefix of at least 12 hex digits of ``pid`` (48 bits,
    so with the one plan at hand it cannot be ambiguous). Else the "not the approved plan" error."""
    req = required.strip().lower()
    if len(req) < SHORT_ID or len(req) > len(pid) or not set(req) <= _HEX:
        raise PlannerError(
            f"--require-id {required[: SHORT_ID * 2]!r}: give the plan id shown by `planner plan` "
            f"({SHORT_ID} to 64 hex digits)"
        )
    if not pid.startswith(req):
        raise not_approved(pid, req)
    return pid


def verify_id(plan: ComputedPlan) -> bool:
    return bool(plan.plan_id) and plan.plan_id == plan_id(plan)


def dump(plan: ComputedPlan) -> str:
    """Readable (indented, sorted) JSON; the id is computed over the canonical compact form."""
    if not plan.plan_id:
        plan = with_id(plan)
    return json.dumps(to_dict(plan), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _fail(filename: str, message: str, line: int = 1, col: int = 1, text: str | None = None) -> DiagnosticError:
    return DiagnosticError([Diagnostic("error", message, Span(filename, line, col))], {filename: text or ""})


def _build(cls: type[Any], data: Any, what: str) -> Any:
    if not isinstance(data, dict):
        raise ArtifactError(f"{what} must be an object")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = required - data.keys()
    if missing:
        raise ArtifactError(f"{what} lacks {', '.join(sorted(missing))}")
    return cls(**{k: v for k, v in data.items() if k in names})


def _check(data: Any) -> None:
    """Raise SchemaError (with the JSON path) unless ``data`` is a plan this planner can apply."""
    if not isinstance(data, dict):
        raise SchemaError((), "plan.json must hold a JSON object")
    fv = data.get("format_version")
    if isinstance(fv, bool) or fv not in SUPPORTED_VERSIONS:
        raise SchemaError(
            ("format_version",),
            f"unsupported plan format_version {fv!r} (this planner reads {', '.join(map(str, sorted(SUPPORTED_VERSIONS)))})",
        )
    check_plan(data)


def _build_plan(data: dict[str, Any]) -> ComputedPlan:
    d = dict(data)
    try:
        d["tags"] = tuple(_build(TagChange, t, "a tag change") for t in d.get("tags", []))
        d["kv"] = tuple(_build(KVChange, k, "a KV change") for k in d.get("kv", []))
        d["verifies"] = tuple(
            dataclasses.replace(v, within_seconds=None if v.within_seconds is None else float(v.within_seconds))
            for v in (_build(VerifyCheck, x, "a verify check") for x in d.get("verifies", []))
        )
        d["notices"] = tuple(_build(Notice, n, "a notice") for n in d.get("notices", []))
        d["steps"] = tuple(dict(s) for s in d.get("steps", []))
        d["levels"] = tuple(tuple(level) for level in d.get("levels", []))
        plan: ComputedPlan = _build(ComputedPlan, d, "the plan")
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"malformed plan: {exc}") from None
    return plan


def load(text: str, filename: str = "plan.json", *, check_id: bool = True) -> ComputedPlan:
    """Parse plan.json; malformed JSON or a wrong field is a positioned error naming the JSON path
    (``tags[0].ref``); a plan whose id does not match its content is refused.

    A matching id is NOT proof of integrity: the id is an unkeyed hash anyone can recompute. Apply
    with ``--require-id`` (the id a reviewer saw) for that.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(filename, f"malformed JSON: {exc.msg}", exc.lineno, exc.colno, text) from None
    except RecursionError:
        raise _fail(filename, "malformed plan: JSON nested too deeply") from None
    try:
        _check(data)
    except SchemaError as exc:
        offset = locate(text, exc.path)
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        where = f"{exc.where()}: " if exc.path else ""
        raise _fail(filename, f"{where}{exc.message}", line, col, text) from None
    except RecursionError:
        raise _fail(filename, "malformed plan: JSON nested too deeply") from None
    try:
        plan = _build_plan(data)
    except ArtifactError as exc:
        raise _fail(filename, exc.message) from None
    if check_id and not verify_id(plan):
        # Only the ids: echoing the artifact would print the whole (possibly one-line) file.
        raise _fail(
            filename,
            f"plan_id does not match the plan's content (edited after planning?): the file says "
            f"{str(plan.plan_id)[:64] or '(none)'!s}, the content hashes to {plan_id(plan)}",
        )
    return plan
