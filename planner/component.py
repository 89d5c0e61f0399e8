"""What the registry holds: a registered component and the registry of them, and the path rules
every reader applies (edgit's prefix rule, safe repository-relative paths, symlinks kept inside).

planner.registry reads them from ``.edgit/components.json`` and planner.manifest from
``component.yaml``; both build these records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from planner.errors import Diagnostic, Span
from planner.model import ComponentRef, ModelError, Prefix, namespace_for_type

if TYPE_CHECKING:
    from planner.refs import YamlRef

REGISTRY_PATH = ".edgit/components.json"


@dataclass(frozen=True)
class Component:
    """One registered component, from components.json and/or its component.yaml."""

    name: str
    type: str  # edgit type: prompt, agent-definition, ...
    path: str  # repository-relative POSIX path of the component's file
    prefix: Prefix
    uses: tuple[ComponentRef, ...] = ()  # components this one depends on (declared in a manifest)
    source: str = REGISTRY_PATH  # where it was declared
    span: Span | None = field(default=None, compare=False)  # where in ``source``

    @property
    def ref(self) -> ComponentRef:
        return ComponentRef(namespace_for_type(self.type), self.name)

    @property
    def needs_rebuild(self) -> bool:
        return self.prefix == "logic"


@dataclass(frozen=True)
class Registry:
    """Every registered component, by reference, with the YAML references found in their files."""

    components: Mapping[ComponentRef, Component] = field(default_factory=dict)
    # References found in each component's YAML file (positions kept for diagnostics).
    yaml_refs: Mapping[ComponentRef, tuple[YamlRef, ...]] = field(default_factory=dict)
    warnings: tuple[Diagnostic, ...] = ()

    def get(self, ref: ComponentRef) -> Component | None:
        return self.components.get(ref)

    def by_name(self, name: str) -> list[Component]:
        return [c for c in self.components.values() if c.name == name]

    def lookup(self, text: str) -> Component | None:
        """Find a component by ``type/name`` (``prompts/extraction``) or by bare name if unique."""
        if "/" in text:
            try:
                return self.get(ComponentRef.parse(text))
            except ModelError:
                return None
        found = self.by_name(text)
        return found[0] if len(found) == 1 else None

    def dependencies(self) -> dict[ComponentRef, frozenset[ComponentRef]]:
        """component -> the components it uses (edges point from user to used).

        Union of manifest ``uses:`` and YAML references to other registered components.
        """
        out: dict[ComponentRef, frozenset[ComponentRef]] = {}
        for ref, c in self.components.items():
            found = {r.ref for r in self.yaml_refs.get(ref, ()) if r.ref != ref and r.ref in self.components}
            out[ref] = frozenset(set(c.uses) | found)
        return out


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


def inside_repo(root: Path, target: Path) -> bool:
    """True if ``target`` (after resolving symlinks) stays inside ``root``."""
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
