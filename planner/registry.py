"""The component registry: edgit's ``.edgit/components.json`` plus ``component.yaml`` manifests.

Each component's prefix (components/logic) is decided here once: an explicit ``prefix`` field,
else edgit's rule (a path under ``logic/`` or ``src/logic/`` is logic).

Dependencies (edges point from the user to the used component) come from a manifest's ``uses:``
list and from component references in the component's own YAML file (``planner.refs``).

The records (Component, Registry) and path rules are in ``planner.component``, manifests are read
by ``planner.manifest``; this module reads components.json, merges, and writes components.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.component import (
    REGISTRY_PATH,
    Component,
    Registry,
    check_repo_path,
    inside_repo,
    prefix_for_path,
)
from planner.errors import Diagnostic, DiagnosticError, DiagnosticSink, PlannerError, Span
from planner.fileio import loads_json, read_text_file
from planner.manifest import MANIFEST_NAME, find_manifests, read_manifest
from planner.model import ComponentRef, ModelError, namespace_for_type, validate_name

if TYPE_CHECKING:  # types only: datetime and planner.refs load when used (start-up time)
    from datetime import datetime

    from planner.refs import YamlRef

__all__ = [  # Component, Registry and the path rules live in planner.component; most callers meet them here
    "REGISTRY_PATH",
    "REGISTRY_VERSION",
    "Component",
    "Registry",
    "add_component",
    "check_repo_path",
    "dump_edgit",
    "edgit_timestamp",
    "load_registry",
    "prefix_for_path",
    "save_components",
]

REGISTRY_VERSION = "3.0.0"


_JSON_KEY = re.compile(r'"(?:[^"\\\n]|\\.)*"(?=\s*:)')


def _key_index(text: str) -> dict[str, list[Span]]:
    """Positions of every ``"key":`` in a JSON text, by decoded key, in one pass (linear in the text)."""
    index: dict[str, list[Span]] = {}
    line, line_start, scanned = 1, 0, 0
    for m in _JSON_KEY.finditer(text):
        newlines = text.count("\n", scanned, m.start())
        if newlines:
            line += newlines
            line_start = text.rfind("\n", scanned, m.start()) + 1
        scanned = m.start()
        try:
            key = json.loads(m.group())
        except ValueError:
            continue
        col = m.start() - line_start + 1
        index.setdefault(key, []).append(Span(REGISTRY_PATH, line, col, line, col + len(m.group())))
    return index


def _pairs_keep_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys silently; remember them so they can be reported.
    out: dict[str, Any] = {}
    dupes: list[str] = []
    for k, v in pairs:
        if k in out:
            dupes.append(k)
        out[k] = v
    if dupes:
        out["\x00dupes"] = dupes
    return out


def _strip_dupes(value: Any) -> Any:
    """Remove the duplicate-key markers again before writing a registry back."""
    if isinstance(value, dict):
        return {k: _strip_dupes(v) for k, v in value.items() if k != "\x00dupes"}
    if isinstance(value, list):
        return [_strip_dupes(v) for v in value]
    return value


def _read_json(file: Path) -> tuple[str, dict[str, Any]]:
    text = read_text_file(file, REGISTRY_PATH)
    data = loads_json(REGISTRY_PATH, text, object_pairs_hook=_pairs_keep_dupes)
    if not isinstance(data, dict):
        raise DiagnosticError(
            [Diagnostic("error", "the registry must be a JSON object", Span(REGISTRY_PATH, 1, 1))],
            {REGISTRY_PATH: text},
        )
    return text, data


def _edgit_components(repo: Path, sink: DiagnosticSink) -> tuple[str, list[Component]]:
    file = repo / REGISTRY_PATH
    if not file.exists():
        return "", []
    text, data = _read_json(file)
    keys = _key_index(text)
    entries = data.get("components", {})
    if not isinstance(entries, dict):
        span = (keys.get("components") or [Span(REGISTRY_PATH, 1, 1)])[0]
        raise DiagnosticError([Diagnostic("error", "'components' must be an object", span)], {REGISTRY_PATH: text})
    for name in entries.pop("\x00dupes", []):
        spans = keys.get(name, [])
        sink.error(f"duplicate component name {name!r}", spans[-1] if spans else Span(REGISTRY_PATH, 1, 1))
    comps: list[Component] = []
    for name, entry in entries.items():
        span = (keys.get(name) or [Span(REGISTRY_PATH, 1, 1)])[0]
        try:
            validate_name(name)
        except ModelError as exc:
            # A name edgit wrote but the planner cannot tag: skip this one component, keep the rest.
            sink.warning(f"{exc.message}; component skipped", span)
            continue
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise ModelError(f"component {name!r} needs a string 'path'")
            type_ = entry.get("type")
            if not isinstance(type_, str):
                raise ModelError(f"component {name!r} needs a string 'type'")
            namespace_for_type(type_)
            bad = check_repo_path(entry["path"])
            if bad:
                raise ModelError(f"component {name!r}: path {entry['path']!r} {bad}")
            prefix = entry.get("prefix") or prefix_for_path(entry["path"])
            if prefix not in ("components", "logic"):
                raise ModelError(f"component {name!r}: prefix must be 'components' or 'logic'")
        except ModelError as exc:
            sink.error(exc.message, span)
            continue
        comps.append(Component(name, type_, entry["path"], prefix, (), REGISTRY_PATH, span))
    return text, comps


def load_registry(root: Path | str = ".") -> Registry:
    """The merged registry of ``root``: edgit's components.json plus every component.yaml.

    A component declared in both must agree on type and path; the manifest adds prefix and uses.
    Every error in every file is reported at once (DiagnosticError with file:line:col).
    """
    root = Path(root)
    sink = DiagnosticSink()
    sources: dict[str, str] = {}
    text, edgit = _edgit_components(root, sink)
    if text:
        sources[REGISTRY_PATH] = text
    by_name: dict[str, Component] = {}
    for c in edgit:
        by_name[c.name] = c
    for file in find_manifests(root):
        mtext, comp = read_manifest(root, file, sink)
        sources[file.relative_to(root).as_posix()] = mtext
        if comp is None:
            continue
        prev = by_name.get(comp.name)
        if prev is None:
            by_name[comp.name] = comp
        elif prev.source == REGISTRY_PATH and prev.type == comp.type and prev.path == comp.path:
            by_name[comp.name] = comp  # the manifest refines the edgit entry (prefix, uses)
        else:
            where = f"{prev.span}" if prev.span else prev.source
            sink.error(
                f"duplicate component name {comp.name!r}: also declared at {where}"
                + (" with a different type or path" if prev.source == REGISTRY_PATH else ""),
                comp.span,
            )
    comps = {c.ref: c for c in by_name.values()}
    yaml_refs: dict[ComponentRef, tuple[YamlRef, ...]] = {}
    warnings: list[Diagnostic] = []
    for ref, c in sorted(comps.items()):
        from planner.refs import is_yaml_path, scan_yaml

        target = root / c.path
        if not inside_repo(root, target):
            sink.error(f"component {c.name!r}: path {c.path!r} escapes the repository (symlink)", c.span)
            continue
        if not target.is_file():
            sink.error(f"component {c.name!r}: file {c.path!r} does not exist", c.span)
            continue
        for used in c.uses:
            if used not in comps:
                sink.error(f"component {c.name!r} uses {used}, which is not registered", c.span)
        if is_yaml_path(c.path):
            try:
                ytext = read_text_file(target, c.path)
                found = scan_yaml(c.path, ytext)
            except DiagnosticError as exc:
                sink.items.extend(exc.diagnostics)
                sources.update(exc.sources)
                continue
            except PlannerError as exc:
                sink.error(exc.message, Span(c.path, 1, 1))
                continue
            yaml_refs[ref] = tuple(found)
            for r in found:
                if r.ref not in comps:
                    sources[c.path] = ytext
                    warnings.append(Diagnostic("warning", f"reference to unregistered component {r.ref}", r.span))
    if sink.has_errors:
        raise DiagnosticError(sink.items, sources)
    warnings[:0] = [d for d in sink.items if d.severity == "warning"]  # e.g. a skipped component name
    return Registry(dict(sorted(comps.items())), yaml_refs, tuple(warnings))


# --- writing .edgit/components.json (byte-compatible with edgit) ---------------------------------


def edgit_timestamp(now: datetime | None = None) -> str:
    """``new Date().toISOString()``: UTC, milliseconds, ``Z``."""
    from datetime import UTC, datetime  # only when writing: status never needs it

    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def dump_edgit(data: Mapping[str, Any], trailing_newline: bool = False) -> str:
    """``JSON.stringify(data, null, 2)``: 2-space indent, ``": "``, non-ASCII kept as is.

    edgit writes no trailing newline; an existing file's choice is kept by ``save_components``.
    """
    text = json.dumps(_js_key_order(data), indent=2, ensure_ascii=False)
    return text + "\n" if trailing_newline else text


_MAX_INDEX = 2**32 - 2  # the largest array index (ECMA-262 "array index")


def _array_index(key: str) -> int | None:
    """The key as an array index if it is one: digits only, canonical (no leading zeros), <= 2**32-2."""
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        n = int(key)
        return n if n <= _MAX_INDEX else None
    return None


def _js_key_order(value: Any) -> Any:
    """Objects as JavaScript orders their keys: array-index keys (``"7"``, ``"42"``) first in
    ascending numeric order, then the others in insertion order. ``JSON.stringify`` writes them
    so; without this a name like ``42`` would move on edgit's next write (a diff in every PR)."""
    if isinstance(value, dict):
        items = list(value.items())
        indexed = sorted((n, k) for k in value if (n := _array_index(k)) is not None)
        if indexed:
            first = {k for _, k in indexed}
            items = [(k, value[k]) for _, k in indexed] + [(k, v) for k, v in items if k not in first]
        return {k: _js_key_order(v) for k, v in items}
    if isinstance(value, list):
        return [_js_key_order(v) for v in value]
    return value


def save_components(root: Path | str, entries: Mapping[str, Mapping[str, str]], *, now: datetime | None = None) -> Path:
    """Add or replace ``entries`` (name -> {"path", "type"}) in ``.edgit/components.json``.

    Unknown keys and the key order of an existing file are preserved; a new file gets edgit's
    order (version, components, updated). Only ``updated`` and the given entries change.
    """
    file = Path(root) / REGISTRY_PATH
    if file.exists():
        text, data = _read_json(file)
        data = _strip_dupes(data)
        newline = text.endswith("\n")
    else:
        data, newline = {"version": REGISTRY_VERSION, "components": {}, "updated": ""}, False
    comps = data.setdefault("components", {})
    if not isinstance(comps, dict):
        raise DiagnosticError([Diagnostic("error", "'components' must be an object", Span(REGISTRY_PATH, 1, 1))])
    for name, entry in entries.items():
        old = comps.get(name)
        merged = dict(old) if isinstance(old, dict) else {}
        merged.update({"path": entry["path"], "type": entry["type"]})
        comps[name] = merged
    data["updated"] = edgit_timestamp(now)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(dump_edgit(data, newline), encoding="utf-8")
    tmp.replace(file)  # atomic: a crash never leaves a half-written registry
    return file


def add_component(root: Path | str, path: str, *, type_: str | None = None, name: str | None = None) -> Component:
    """``planner components add``: register a component.yaml or a file (with type and name).

    Validates everything first (the merged registry must still load) and only then writes.
    """
    root = Path(root)
    target = Path(path) if Path(path).is_absolute() else (Path.cwd() / path)
    if not target.exists():
        raise ModelError(f"{path}: no such file")
    if not inside_repo(root, target):
        raise ModelError(f"{path}: is outside the repository {root}")
    if not target.is_file():
        raise ModelError(f"{path}: is a directory, not a file; register one file (or its component.yaml)")
    rel = target.resolve().relative_to(root.resolve()).as_posix()
    if target.name == MANIFEST_NAME:
        sink = DiagnosticSink()
        text, comp = read_manifest(root.resolve(), target.resolve(), sink)
        if comp is None:
            raise DiagnosticError(sink.items, {rel: text})
        if (type_ and type_ != comp.type) or (name and name != comp.name):
            raise ModelError(f"{rel}: --type/--name disagree with the manifest ({comp.type} {comp.name})")
    else:
        if not type_:
            raise ModelError(f"{path}: give --type (one of the edgit types, e.g. prompt) for a plain file")
        namespace_for_type(type_)
        comp_name = validate_name(name or re.sub(r"[^a-z0-9_-]", "-", target.stem.lower()).strip("-"))
        comp = Component(comp_name, type_, rel, prefix_for_path(rel))
    existing = load_registry(root)
    clash = [c for c in existing.by_name(comp.name) if (c.type, c.path) != (comp.type, comp.path)]
    if clash:
        raise ModelError(f"a component named {comp.name!r} is already registered ({clash[0].ref} at {clash[0].path})")
    save_components(root, {comp.name: {"path": comp.path, "type": comp.type}})
    load_registry(root)  # the result must load; surfaces any problem with positions
    return comp
