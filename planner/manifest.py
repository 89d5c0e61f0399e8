"""``component.yaml`` manifests: found under the repository, parsed with positions (yaml is
imported only when one is read). A manifest declares name, type and path like components.json,
and adds a prefix and the components it ``uses``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from planner.component import Component, check_repo_path, inside_repo, prefix_for_path
from planner.errors import DiagnosticSink, Span
from planner.fileio import read_text_file
from planner.model import ComponentRef, ModelError, Prefix, namespace_for_type, validate_name

MANIFEST_NAME = "component.yaml"
# Directories never searched for manifests: VCS data, virtualenvs, dependency trees.
_SKIP_DIRS = {".git", ".edgit", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}
MANIFEST_KEYS = frozenset({"name", "type", "path", "prefix", "uses"})


def find_manifests(root: Path) -> list[Path]:
    """Every ``component.yaml`` under ``root`` (sorted), skipping VCS and dependency directories."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if MANIFEST_NAME in filenames:
            found.append(Path(dirpath) / MANIFEST_NAME)
    return sorted(found)


def read_manifest(root: Path, file: Path, sink: DiagnosticSink) -> tuple[str, Component | None]:
    """Read and parse one ``component.yaml``; problems go to ``sink`` with their positions."""
    rel = file.relative_to(root).as_posix()
    text = read_text_file(file, rel)
    return text, parse_manifest(rel, text, sink, inside=lambda path: inside_repo(root, root / path))


def parse_manifest(
    rel: str, text: str, sink: DiagnosticSink, *, inside: Callable[[PurePosixPath], bool] | None = None
) -> Component | None:
    """Parse the text of the manifest at ``rel`` (repository path); problems go to ``sink``.

    ``inside(path)``: whether the declared path stays in the repository once symlinks in the
    working tree are followed (not asked for a manifest read from git objects).
    Raises DiagnosticError for malformed YAML.
    """
    import yaml

    from planner.refs import compose_all, node_span

    docs = compose_all(rel, text)
    if len(docs) != 1 or not isinstance(docs[0], yaml.MappingNode):
        sink.error("a component manifest must be one YAML mapping (name, type, path, ...)", Span(rel, 1, 1))
        return None
    doc = docs[0]
    nodes: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in doc.value:
        key = k.value if isinstance(k, yaml.ScalarNode) else None
        if key not in MANIFEST_KEYS:
            sink.error(f"unknown manifest key {key!r} (known: {', '.join(sorted(MANIFEST_KEYS))})", node_span(rel, k))
            continue
        if key in nodes:
            sink.error(f"duplicate manifest key {key!r}", node_span(rel, k))
        nodes[key] = (k, v)
    whole = node_span(rel, doc)

    def scalar(key: str, required: bool) -> tuple[str, Span] | None:
        if key not in nodes:
            if required:
                sink.error(f"missing required key {key!r}", Span(rel, whole.line, whole.column))
            return None
        node = nodes[key][1]
        if not isinstance(node, yaml.ScalarNode) or not node.value or node.tag != "tag:yaml.org,2002:str":
            sink.error(f"{key!r} must be a non-empty string", node_span(rel, node))
            return None
        return node.value, node_span(rel, node)

    before = len(sink.items)
    name = scalar("name", True)
    type_ = scalar("type", True)
    path = scalar("path", True)
    prefix = scalar("prefix", False)
    for value, check in ((name, validate_name), (type_, namespace_for_type)):
        if value is not None:
            try:
                check(value[0])
            except ModelError as exc:
                sink.error(exc.message, value[1])
    if prefix is not None and prefix[0] not in ("components", "logic"):
        sink.error("'prefix' must be 'components' or 'logic'", prefix[1])
    repo_path: str | None = None
    if path is not None:
        # Paths in a manifest are relative to the manifest's own directory.
        bad = check_repo_path(path[0])
        joined = PurePosixPath(rel).parent / path[0]
        if bad is None and inside is not None and not inside(joined):
            bad = "escapes the repository"
        if bad:
            sink.error(f"path {path[0]!r} {bad}", path[1])
        else:
            repo_path = PurePosixPath(os.path.normpath(joined.as_posix())).as_posix()
    uses: list[ComponentRef] = []
    if "uses" in nodes:
        node = nodes["uses"][1]
        if not isinstance(node, yaml.SequenceNode):
            sink.error("'uses' must be a list of type/name references, e.g. [prompts/extraction]", node_span(rel, node))
        else:
            for item in node.value:
                try:
                    if not isinstance(item, yaml.ScalarNode):
                        raise ModelError("each 'uses' entry must be a type/name string")
                    uses.append(ComponentRef.parse(item.value))
                except ModelError as exc:
                    sink.error(exc.message, node_span(rel, item))
    if len(sink.items) != before or name is None or type_ is None or repo_path is None:
        return None
    pfx: Prefix = "logic" if prefix and prefix[0] == "logic" else "components" if prefix else prefix_for_path(repo_path)
    return Component(name[0], type_[0], repo_path, pfx, tuple(uses), rel, node_span(rel, nodes["name"][0]))
