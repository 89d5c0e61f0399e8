"""Strict validation of plan.json before it becomes a ComputedPlan.

plan.json is input: anyone who can edit the file (or a pull request) can put any JSON in it, and
the plan id is an UNKEYED hash (anyone can recompute it), so a matching id proves nothing about
who wrote the file. Integrity comes only from ``apply --require-id`` with the id a reviewer saw.
This module makes sure that whatever the file holds, apply and the renderers only ever see the
types and values the dry run produces: every field checked, every tag ref inside our tag layout,
and every tag change, KV write and verify check agreeing with the step it claims to come from.

Each field is checked by planner.artifact_fields; errors are its ``SchemaError``, carrying the
JSON path (``tags[0].ref``) that :func:`locate` turns into the field's line and column.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from planner.artifact_fields import (
    Path,
    SchemaError,
    array,
    boolean,
    choice,
    component,
    env,
    integer,
    obj,
    oid,
    opt_oid,
    opt_text,
    opt_version,
    parsed,
    sha256,
    tag_ref,
    text,
    type_name,
    version,
)
from planner.kv.limits import MAX_KEY_BYTES, MAX_METADATA_BYTES
from planner.model import (
    PREFIXES,
    ComponentRef,
    Version,
    build_tag,
    env_message,
    parse_slot,
    version_message,
)

_MOVE_KINDS = ("promote", "copy", "rollback")
_MARK_KINDS = ("reject", "override")

# --- the plan ---

_PLAN_FIELDS = (
    "format_version",
    "name",
    "description",
    "source_file",
    "source_sha256",
    "remote",
    "ledger_old",
    "steps",
    "levels",
    "tags",
    "kv",
    "verifies",
    "notices",
)
_TAG_FIELDS = (
    "step_id",
    "ref",
    "action",
    "old_object",
    "old_commit",
    "old_version",
    "new_commit",
    "new_version",
    "message",
    "level",
)
_KV_FIELDS = (
    "step_id",
    "namespace",
    "key",
    "phase",
    "component",
    "slot",
    "old_sha256",
    "new_sha256",
    "size",
    "blob",
    "path",
    "commit",
    "unchanged",
    "level",
)
_VERIFY_FIELDS = ("step_id", "env", "url", "expect", "within_seconds", "level")


def check_plan(data: Any) -> None:
    """Raise SchemaError at the first field of ``data`` (parsed plan.json) that is wrong."""
    d = obj(data, (), _PLAN_FIELDS, ("plan_id",))
    text(d["name"], ("name",))
    text(d["description"], ("description",))
    text(d["source_file"], ("source_file",), max_len=4096)
    sha256(d["source_sha256"], ("source_sha256",))
    text(d["remote"], ("remote",), max_len=4096)
    opt_oid(d["ledger_old"], ("ledger_old",))
    if "plan_id" in d and d["plan_id"] != "":
        sha256(d["plan_id"], ("plan_id",))
    steps = _check_steps(array(d["steps"], ("steps",)))
    _check_levels(array(d["levels"], ("levels",)), steps)
    _check_tags(array(d["tags"], ("tags",)), steps)
    _check_kv(array(d["kv"], ("kv",)), steps)
    _check_verifies(array(d["verifies"], ("verifies",)), steps)
    for i, n in enumerate(array(d["notices"], ("notices",))):
        p: Path = ("notices", i)
        obj(n, p, ("kind", "message"), ("component", "env"))
        choice(n["kind"], (*p, "kind"), ("needs-rebuild", "warning"))
        text(n["message"], (*p, "message"))
        opt_text(n.get("component"), (*p, "component"), max_len=1000)
        opt_text(n.get("env"), (*p, "env"), max_len=1000)


def _check_steps(items: list[Any]) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(items):
        p: Path = ("steps", i)
        if not isinstance(s, dict):
            raise SchemaError(p, f"must be an object, not {type_name(s)}")
        kind = choice(s.get("kind"), (*p, "kind"), ("create", *_MOVE_KINDS, "verify", *_MARK_KINDS))
        if kind == "create":
            obj(s, p, ("id", "level", "kind", "component", "prefix", "version", "commit", "at"), ("span",))
            comp = component(s["component"], (*p, "component"))
            want = f"create {comp}@{version(s['version'], (*p, 'version'))}"
            choice(s["prefix"], (*p, "prefix"), PREFIXES)
            oid(s["commit"], (*p, "commit"))
            text(s["at"], (*p, "at"), max_len=1000)
        elif kind in _MOVE_KINDS:
            obj(s, p, ("id", "level", "kind", "component", "prefix", "env", "version", "commit"), ("from_env", "span"))
            comp = component(s["component"], (*p, "component"))
            want = f"move {comp}@{env(s['env'], (*p, 'env'))}"
            choice(s["prefix"], (*p, "prefix"), PREFIXES)
            opt_version(s["version"], (*p, "version"))
            oid(s["commit"], (*p, "commit"))
            if s.get("from_env") is not None:
                env(s["from_env"], (*p, "from_env"))
        elif kind == "verify":
            obj(s, p, ("id", "level", "kind", "env", "url", "expect", "within_seconds"), ("span",))
            want = f"verify {env(s['env'], (*p, 'env'))}#"
            _url(s["url"], (*p, "url"))
            integer(s["expect"], (*p, "expect"), low=100, high=599)
            _seconds(s["within_seconds"], (*p, "within_seconds"))
        else:
            obj(s, p, ("id", "level", "kind", "component", "version", "reason"), ("span",))
            comp = component(s["component"], (*p, "component"))
            want = f"{kind} {comp}@{version(s['version'], (*p, 'version'))}"
            text(s["reason"], (*p, "reason"))
        sid = text(s["id"], (*p, "id"), max_len=1000)
        if not (sid.startswith(want) and sid[len(want) :].isdigit() if kind == "verify" else sid == want):
            raise SchemaError((*p, "id"), f"{sid!r} does not match the step's fields (expected {want!r})")
        if sid in steps:
            raise SchemaError((*p, "id"), f"step {sid!r} appears twice")
        integer(s["level"], (*p, "level"))
        if "span" in s:
            text(s["span"], (*p, "span"), max_len=5000)
        steps[sid] = s
    return steps


def _url(value: Any, path: Path) -> str:
    url = text(value, path, max_len=4096)
    if not url.startswith(("http://", "https://")) or any(c.isspace() or ord(c) < 32 for c in url):
        raise SchemaError(path, "must be an http:// or https:// URL without spaces or control characters")
    return url


def _seconds(value: Any, path: Path) -> None:
    if value is None:
        return
    # The language has no upper bound ("within 48h" is valid); NaN and Infinity are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
        raise SchemaError(path, "must be null or a finite, non-negative number of seconds")


def _check_levels(levels: list[Any], steps: dict[str, dict[str, Any]]) -> None:
    placed: set[str] = set()
    for i, level in enumerate(levels):
        for j, sid in enumerate(array(level, ("levels", i))):
            p: Path = ("levels", i, j)
            text(sid, p, max_len=1000)
            step = steps.get(sid)
            if step is None:
                raise SchemaError(p, f"{sid!r} is not the id of a step")
            if sid in placed:
                raise SchemaError(p, f"step {sid!r} appears in two levels")
            if step["level"] != i:
                raise SchemaError(p, f"step {sid!r} says level {step['level']}, but is listed in level {i}")
            placed.add(sid)


def _step_for(sid: Any, path: Path, steps: dict[str, dict[str, Any]], kinds: tuple[str, ...]) -> dict[str, Any]:
    text(sid, path, max_len=1000)
    step = steps.get(sid)
    if step is None or step["kind"] not in kinds:
        raise SchemaError(path, f"{sid!r} is not the id of a {'/'.join(kinds)} step of this plan")
    return step


def _agree(path: Path, got: Any, want: Any, what: str) -> None:
    if got != want:
        raise SchemaError(path, f"{got!r} does not agree with its step ({what} {want!r})")


def _check_tags(tags: list[Any], steps: dict[str, dict[str, Any]]) -> None:
    seen_refs: set[str] = set()
    seen_steps: set[str] = set()
    for i, t in enumerate(tags):
        p: Path = ("tags", i)
        obj(t, p, _TAG_FIELDS)
        tag = tag_ref(t["ref"], (*p, "ref"))
        action = choice(t["action"], (*p, "action"), ("create", "move", "noop"))
        old_object = opt_oid(t["old_object"], (*p, "old_object"))
        opt_oid(t["old_commit"], (*p, "old_commit"))
        opt_version(t["old_version"], (*p, "old_version"))
        oid(t["new_commit"], (*p, "new_commit"))
        opt_version(t["new_version"], (*p, "new_version"))
        text(t["message"], (*p, "message"), max_len=1000)
        level = integer(t["level"], (*p, "level"))
        if (action == "create") != (old_object is None):
            raise SchemaError(
                (*p, "old_object"), f"must be null exactly when the action is 'create' (it is {action!r})"
            )
        if t["ref"] in seen_refs:
            raise SchemaError((*p, "ref"), f"{t['ref']!r} is changed twice")
        seen_refs.add(t["ref"])
        step = _step_for(t["step_id"], (*p, "step_id"), steps, ("create", *_MOVE_KINDS))
        if t["step_id"] in seen_steps:
            raise SchemaError((*p, "step_id"), f"step {t['step_id']!r} has two tag changes")
        seen_steps.add(t["step_id"])
        comp = ComponentRef.parse(step["component"])
        if step["kind"] == "create":
            want_version: Version | None = Version.parse(step["version"])
            assert want_version is not None
            want_ref = build_tag(step["prefix"], comp, want_version).ref
            want_message = version_message(comp.name, want_version)
        else:
            want_version = None if step["version"] is None else Version.parse(step["version"])
            want_ref = build_tag(step["prefix"], comp, step["env"]).ref
            want_message = env_message(comp.name, step["env"])
        _agree((*p, "ref"), tag.ref, want_ref, "which moves")
        _agree((*p, "message"), t["message"], want_message, "which gives the message")
        _agree(
            (*p, "new_version"), t["new_version"], None if want_version is None else str(want_version), "which moves to"
        )
        _agree((*p, "new_commit"), t["new_commit"], step["commit"], "which points at")
        _agree((*p, "level"), level, step["level"], "at level")
    for sid, step in steps.items():
        if step["kind"] in ("create", *_MOVE_KINDS) and sid not in seen_steps:
            raise SchemaError(("tags",), f"step {sid!r} has no tag change")


def _check_kv(items: list[Any], steps: dict[str, dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for i, k in enumerate(items):
        p: Path = ("kv", i)
        obj(k, p, _KV_FIELDS, ("metadata",))
        ns = env(k["namespace"], (*p, "namespace"))
        key = text(k["key"], (*p, "key"), empty=False, max_len=MAX_KEY_BYTES)
        if key in (".", "..") or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise SchemaError((*p, "key"), f"is not a valid KV key (not '.' or '..', at most {MAX_KEY_BYTES} bytes)")
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise SchemaError((*p, "key"), "is not valid Unicode text") from None
        phase = choice(k["phase"], (*p, "phase"), ("prepare", "project"))
        comp = component(k["component"], (*p, "component"))
        slot = parsed(k["slot"], (*p, "slot"), parse_slot)
        old = None if k["old_sha256"] is None else sha256(k["old_sha256"], (*p, "old_sha256"))
        new = sha256(k["new_sha256"], (*p, "new_sha256"))
        integer(k["size"], (*p, "size"))
        oid(k["blob"], (*p, "blob"))
        text(k["path"], (*p, "path"), empty=False, max_len=4096)
        oid(k["commit"], (*p, "commit"))
        if boolean(k["unchanged"], (*p, "unchanged")) and old != new:  # equal content may still need new metadata
            raise SchemaError((*p, "unchanged"), "may be true only when old_sha256 equals new_sha256")
        level = integer(k["level"], (*p, "level"))
        if "metadata" in k:
            _metadata(k["metadata"], (*p, "metadata"))
        if (ns, key) in seen:
            raise SchemaError((*p, "key"), f"{key!r} is written twice in namespace {ns!r}")
        seen.add((ns, key))
        step = _step_for(k["step_id"], (*p, "step_id"), steps, _MOVE_KINDS)
        _agree((*p, "namespace"), ns, step["env"], "whose environment is")
        _agree((*p, "component"), str(comp), step["component"], "which moves")
        _agree((*p, "commit"), k["commit"], step["commit"], "which points at")
        want_slot = step["version"] if phase == "prepare" else step["env"]
        _agree((*p, "slot"), str(slot), want_slot, f"whose {phase} slot is")
        _agree((*p, "level"), level, step["level"], "at level")


def _metadata(value: Any, path: Path) -> None:
    """KV metadata: a flat object of scalars within the KV limit (the dry run writes four strings)."""
    if not isinstance(value, dict):
        raise SchemaError(path, f"must be an object, not {type_name(value)}")
    for name, item in value.items():
        if item is not None and not isinstance(item, str | int | float | bool):
            raise SchemaError((*path, name), f"must be a string, number, boolean or null, not {type_name(item)}")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > MAX_METADATA_BYTES:
        raise SchemaError(path, f"is {size} bytes as JSON, the KV limit is {MAX_METADATA_BYTES}")


def _check_verifies(items: list[Any], steps: dict[str, dict[str, Any]]) -> None:
    for i, v in enumerate(items):
        p: Path = ("verifies", i)
        obj(v, p, _VERIFY_FIELDS)
        env(v["env"], (*p, "env"))
        _url(v["url"], (*p, "url"))
        integer(v["expect"], (*p, "expect"), low=100, high=599)
        _seconds(v["within_seconds"], (*p, "within_seconds"))
        integer(v["level"], (*p, "level"))
        step = _step_for(v["step_id"], (*p, "step_id"), steps, ("verify",))
        for name in ("env", "url", "expect", "within_seconds", "level"):
            _agree((*p, name), v[name], step[name], f"whose {name} is")


_WS = re.compile(r"[ \t\n\r]*")


def locate(source: str, path: Path) -> int:
    """Offset in ``source`` (valid JSON) of the value at ``path``, or of the deepest container of
    it that exists, so an error can point at its line and column."""
    decoder = json.JSONDecoder()

    def skip_ws(i: int) -> int:
        m = _WS.match(source, i)
        return m.end() if m else i

    pos = skip_ws(0)
    for part in path:
        if pos >= len(source) or source[pos] not in "{[":
            return pos
        start, i = pos, skip_ws(pos + 1)
        index = 0
        found = False
        while i < len(source) and source[i] not in "}]":
            if source[start] == "{":
                key, i = decoder.raw_decode(source, i)
                i = skip_ws(skip_ws(i) + 1)  # past ':'
                hit = key == part
            else:
                hit = index == part
            if hit:
                pos, found = i, True
                break
            _, i = decoder.raw_decode(source, i)
            i = skip_ws(i)
            if i < len(source) and source[i] == ",":
                i = skip_ws(i + 1)
            index += 1
        if not found:
            return start
    return pos
