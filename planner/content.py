"""Component content at commits: a component's path from ``.edgit/components.json`` AS IT IS at
the commit (so a renamed file still resolves); for a component declared by a ``component.yaml``
only, the path that manifest (where it is today) declared at the commit; else the current
registry's path. Then its bytes.

Used by the dry run (planner.plan.diff), KV sync (planner.kv.sync) and ``validate``; all git reads go
through planner.blobs, batched: ONE ``git cat-file --batch`` for the registries at every commit,
one more for the manifests at those commits only if some component is declared by a manifest
alone, then the files (one call, or two that stay linear in the files per directory: ``via_trees``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from planner.blobs import Blob, fetch_objects, read_files, read_files_via_trees, read_objects
from planner.errors import DiagnosticSink, PlannerError
from planner.gitio import Remote, Repo
from planner.manifest import parse_manifest
from planner.model import TYPE_TO_NAMESPACE, ComponentRef
from planner.registry import REGISTRY_PATH, Component, Registry

__all__ = [
    "MissingCommitError",
    "UnknownComponentError",
    "path_in_manifest",
    "paths_in_registry",
    "read_component_files",
    "sha256_hex",
]


class UnknownComponentError(PlannerError):
    """A component is neither in the registry at a commit nor in the current one.

    Callers re-raise it as their own error type (DiffError, SyncError) with their own wording.
    """

    def __init__(self, ref: ComponentRef, commit: str) -> None:
        super().__init__(f"{ref} is not in the registry at {commit[:12]} nor in the current one")
        self.ref = ref
        self.commit = commit


class MissingCommitError(PlannerError):
    """A tag's commit is not in this checkout (someone else released it) and could not be fetched."""


def ensure_commits(repo: Repo, commits: Iterable[str], remote: Remote | None) -> None:
    """Make sure every commit is here (see :func:`_read_at_commits`)."""
    _read_at_commits(repo, commits, [], remote)


def _read_at_commits(repo: Repo, commits: Iterable[str], specs: Iterable[str], remote: Remote | None) -> dict[str, Any]:
    """ONE ``git cat-file --batch`` for the commits and ``specs`` together; commits this checkout
    lacks (someone else released them) are fetched in ONE ``git fetch REMOTE <oid>...`` and read
    again. Any still missing is a :class:`MissingCommitError` naming them and how to get them."""
    wanted, specs = sorted(set(commits)), list(specs)
    found: dict[str, Any] = read_objects(repo, [*wanted, *specs])
    missing = [c for c in wanted if found.get(c) is None]
    if not missing:
        return found
    if remote and fetch_objects(repo, remote, missing):
        found = read_objects(repo, [*wanted, *specs])
        missing = [c for c in wanted if found.get(c) is None]
        if not missing:
            return found
    shown = ", ".join(c[:12] for c in missing)
    where = remote.shown if remote else "the remote"
    tried = f" and fetching from {where} failed" if remote else ""
    raise MissingCommitError(
        f"commit{'s' if len(missing) > 1 else ''} {shown} {'are' if len(missing) > 1 else 'is'} not in this checkout"
        f"{tried}; run `git fetch --tags {where}` in {repo.root} and try again"
    )


def _blob_data(obj: Any) -> bytes | None:
    return obj.data if obj is not None and obj.kind == "blob" else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paths_in_registry(data: bytes | None) -> dict[ComponentRef, str]:
    """Component paths declared in a ``.edgit/components.json`` blob; unreadable -> empty."""
    if data is None:
        return {}
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    entries = doc.get("components") if isinstance(doc, dict) else None
    out: dict[ComponentRef, str] = {}
    if isinstance(entries, dict):
        for name, entry in entries.items():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                ns = TYPE_TO_NAMESPACE.get(str(entry.get("type")))
                if ns is not None:
                    out[ComponentRef(ns, str(name))] = entry["path"]
    return out


def path_in_manifest(data: bytes | None, manifest: str, comp: Component) -> str | None:
    """The path ``comp``'s manifest blob (``manifest``: its repository path) declares, or None when
    the blob is missing, is not a manifest the registry would load (``parse_manifest``), declares
    another component, or names a path git's batch reads cannot take (a control character)."""
    if data is None:
        return None
    sink = DiagnosticSink()
    try:
        parsed = parse_manifest(manifest, data.decode("utf-8"), sink)
    except (UnicodeDecodeError, PlannerError):
        return None
    if parsed is None or sink.items or (parsed.name, parsed.type) != (comp.name, comp.type):
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in parsed.path):
        return None
    return parsed.path


def read_component_files(
    repo: Repo,
    registry: Registry | Callable[[], Registry],
    wanted: Iterable[tuple[str, ComponentRef]],
    *,
    via_trees: bool = True,
    skip_unknown: bool = False,
    remote: Remote | None = None,
) -> dict[tuple[str, ComponentRef], tuple[str, Blob | None]]:
    """``{(commit, component): (path, blob)}``; blob None where the file is not at that commit.

    The path is the one declared at the commit: ``.edgit/components.json`` there, else the
    component's ``component.yaml`` there (read where the manifest is today), else today's registry.

    ``registry`` is the current registry, or a loader called only if some component is missing
    from the registry at its commit. ``via_trees``: three git calls, linear in the files per
    directory (for many files); else two, using git's own ``commit:path`` lookups; one more
    when a component is declared by a ``component.yaml`` alone. A component
    found in neither registry raises :class:`UnknownComponentError`, or is left out of the
    answer with ``skip_unknown``. Commits this checkout lacks are fetched from ``remote`` first
    (:func:`ensure_commits`).
    """
    items = sorted(set(wanted))
    commits = sorted({c for c, _ in items})
    # The registries at the commits, read with the commits themselves: one batch finds both.
    regs = _read_at_commits(repo, commits, [f"{c}:{REGISTRY_PATH}" for c in commits], remote)
    reg_at = {c: paths_in_registry(_blob_data(regs.get(f"{c}:{REGISTRY_PATH}"))) for c in commits}
    current: Registry | None = None
    paths: dict[tuple[str, ComponentRef], str] = {}
    by_manifest: dict[tuple[str, ComponentRef], Component] = {}
    for commit, ref in items:
        path = reg_at[commit].get(ref)
        if path is None:  # not in components.json at that commit: today's registry
            if current is None:
                current = registry if isinstance(registry, Registry) else registry()
            comp = current.get(ref)
            if comp is None:
                if skip_unknown:
                    continue
                raise UnknownComponentError(ref, commit)
            path = comp.path
            if comp.source != REGISTRY_PATH:
                by_manifest[(commit, ref)] = comp
        paths[(commit, ref)] = path
    if by_manifest:  # declared by a component.yaml: the path its manifest gave at that commit
        manifests = read_files(repo, sorted({(c, comp.source) for (c, _), comp in by_manifest.items()}))
        for (commit, ref), comp in by_manifest.items():
            blob = manifests.get((commit, comp.source))
            then = path_in_manifest(blob.data if blob else None, comp.source, comp)
            if then is not None:
                paths[(commit, ref)] = then
    read = read_files_via_trees if via_trees else read_files
    blobs = read(repo, [(c, p) for (c, _), p in paths.items()])
    return {key: (path, blobs.get((key[0], path))) for key, path in paths.items()}
