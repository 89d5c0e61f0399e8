"""The component registry: edgit's ``.edgit/components.json`` plus ``component.yaml`` manifests.

Each component's prefix (components/logic) is decided here once: an explicit ``prefix`` field,
else edgit's rule (a path under ``logic/`` or ``src/logic/`` is logic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from planner.errors import Diagnostic, DiagnosticError, Span
from planner.model import ComponentRef, ModelError, Prefix, namespace_for_type, validate_name

REGISTRY_PATH = ".edgit/components.json"
REGISTRY_VERSION = "3.0.0"


@dataclass(frozen=True)
class Component:
    name: str
    type: str  # edgit type: prompt, agent-definition, ...
    path: str  # repository-relative POSIX path of the component's file
    prefix: Prefix
    uses: tuple[ComponentRef, ...] = ()  # components this one depends on
    source: str = REGISTRY_PATH  # where it was declared

    @property
    def ref(self) -> ComponentRef:
        return ComponentRef(namespace_for_type(self.type), self.name)

    @property
    def needs_rebuild(self) -> bool:
        return self.prefix == "logic"


@dataclass(frozen=True)
class Registry:
    components: Mapping[ComponentRef, Component] = field(default_factory=dict)

    def get(self, ref: ComponentRef) -> Component | None:
        return self.components.get(ref)

    def by_name(self, name: str) -> list[Component]:
        return [c for c in self.components.values() if c.name == name]

    def dependencies(self) -> dict[ComponentRef, frozenset[ComponentRef]]:
        """component -> the components it uses (edges point from user to used)."""
        return {ref: frozenset(c.uses) for ref, c in self.components.items()}


def prefix_for_path(path: str) -> Prefix:
    """edgit's rule: a file under ``logic/`` or ``src/logic/`` needs a Worker rebuild."""
    p = PurePosixPath(path)
    if p.parts[:1] == ("logic",) or p.parts[:2] == ("src", "logic"):
        return "logic"
    return "components"


def check_repo_path(path: str) -> str | None:
    """Why ``path`` is not a safe repository-relative path, or None if it is."""
    if not path:
        return "is empty"
    if "\\" in path or "\x00" in path:
        return "contains a backslash or NUL"
    p = PurePosixPath(path)
    if p.is_absolute():
        return "is absolute"
    if ".." in p.parts:
        return "escapes the repository ('..')"
    return None


def _pos_of_key(text: str, key: str) -> tuple[int, int]:
    """Best-effort line/column of a JSON object key, for diagnostics about its value."""
    idx = text.find(json.dumps(key))
    if idx < 0:
        return 1, 1
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return line, col


def load_edgit_registry(repo: Path) -> Registry:
    """Read ``.edgit/components.json``; a missing file is an empty registry."""
    file = repo / REGISTRY_PATH
    if not file.exists():
        return Registry({})
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        span = Span(REGISTRY_PATH, exc.lineno, exc.colno)
        raise DiagnosticError(
            [Diagnostic("error", f"malformed JSON: {exc.msg}", span)], {REGISTRY_PATH: text}
        ) from None
    diags: list[Diagnostic] = []
    comps: dict[ComponentRef, Component] = {}
    entries = data.get("components", {}) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise DiagnosticError(
            [Diagnostic("error", "'components' must be an object", Span(REGISTRY_PATH, 1, 1))], {REGISTRY_PATH: text}
        )
    for name, entry in entries.items():
        line, col = _pos_of_key(text, name)
        span = Span(REGISTRY_PATH, line, col)
        try:
            validate_name(name)
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
            diags.append(Diagnostic("error", exc.message, span))
            continue
        comp = Component(name, type_, entry["path"], prefix)
        if comp.ref in comps:
            diags.append(Diagnostic("error", f"duplicate component {comp.ref}", span))
            continue
        comps[comp.ref] = comp
    if diags:
        raise DiagnosticError(diags, {REGISTRY_PATH: text})
    return Registry(dict(sorted(comps.items())))
