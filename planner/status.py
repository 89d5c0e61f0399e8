"""The status view: registry x remote snapshot -> one stable, JSON-ready document.

Pure: the CLI reads the registry and the snapshot, this module joins them. The JSON shape is a
contract (docs/foundation.md); ``STATUS_SCHEMA`` changes whenever it changes incompatibly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.errors import PlannerError
from planner.model import ComponentRef, ModelError, Prefix
from planner.registry import Registry
from planner.state import ComponentState, RepoState

STATUS_SCHEMA = "planner.status/1"


def select_components(registry: Registry, state: RepoState, component: str | None) -> list[ComponentRef]:
    """Every component known to the registry or the remote, or just the one asked for."""
    # Same order as ComponentRef's own (namespace, name), compared as plain tuples in C.
    refs = sorted(set(registry.components) | set(state.components), key=lambda r: (r.namespace, r.name))
    if component is None:
        return refs
    if "/" in component:
        try:
            wanted = ComponentRef.parse(component)
        except ModelError as exc:
            raise PlannerError(exc.message) from None
        matches = [r for r in refs if r == wanted]
    else:
        matches = [r for r in refs if r.name == component]
    if not matches:
        raise PlannerError(f"unknown component {component!r}: not in the registry and no tags on the remote")
    if len(matches) > 1:
        raise PlannerError(f"component name {component!r} is ambiguous: {', '.join(map(str, matches))}")
    return matches


def _component_doc(
    ref: ComponentRef,
    registry: Registry,
    deps: dict[ComponentRef, frozenset[ComponentRef]],
    cs: ComponentState | None,
    envs: list[str],
) -> dict[str, Any]:
    reg = registry.get(ref)
    prefix: Prefix = reg.prefix if reg else cs.prefix if cs else "components"
    env_docs: dict[str, Any] = {}
    for env in envs:
        p = cs.envs.get(env) if cs else None
        env_docs[env] = (
            None
            if p is None
            else {
                "version": str(p.version) if p.version else None,
                "commit": p.tag.commit,
                "tag_object": p.tag.object,
                "ref": p.tag.ref,
            }
        )
    return {
        "component": str(ref),
        "type": ref.type,
        "name": ref.name,
        "prefix": prefix,
        "needs_rebuild": prefix == "logic",
        "registered": reg is not None,
        "path": reg.path if reg else None,
        "uses": sorted(str(u) for u in deps.get(ref, ())),
        "latest": str(cs.latest) if cs and cs.latest else None,
        # Version strings only (semver ascending): commits and tag objects of versions are in the
        # library's RepoState; keeping them out halves the document on a 10,000-tag remote.
        "versions": [str(v) for v in cs.versions] if cs else [],
        "envs": env_docs,
    }


def prefix_mismatches(registry: Registry, state: RepoState, refs: list[ComponentRef]) -> list[str]:
    """Components whose registry prefix differs from where their tags live on the remote."""
    out = []
    for ref in refs:
        reg, cs = registry.get(ref), state.component(ref)
        if reg is not None and cs is not None and reg.prefix != cs.prefix:
            out.append(f"{ref} is registered as '{reg.prefix}' ({reg.source}) but its tags are under '{cs.prefix}/'")
    return out


def build_status(
    registry: Registry, state: RepoState, *, component: str | None = None, env: str | None = None
) -> dict[str, Any]:
    """The ``planner status --format json`` document (see docs/foundation.md)."""
    refs = select_components(registry, state, component)
    envs = state.env_names()
    if env is not None:
        envs = [env]
    deps = registry.dependencies()
    comps = [_component_doc(r, registry, deps, state.component(r), envs) for r in refs]
    return {
        "schema": STATUS_SCHEMA,
        "remote": state.remote,
        "environments": envs,
        "components": comps,
        "divergences": [{"ref": d.ref, "local": d.local, "remote": d.remote} for d in state.divergences],
        "ignored_refs": list(state.ignored),
        "problems": list(state.problems) + prefix_mismatches(registry, state, refs),
    }


def state_warnings(doc: dict[str, Any]) -> list[str]:
    """Divergences, ignored refs and problems as ``warning:`` lines (for stderr, never for JSON stdout)."""
    out = []
    for d in doc["divergences"]:
        if d["remote"] is None:
            msg = f"{d['ref']}: exists locally ({d['local'][:12]}) but not on the remote"
        else:
            msg = f"{d['ref']}: local tag is stale ({d['local'][:12]}), the remote has {d['remote'][:12]}"
        out.append(f"warning: {msg}")
    out.extend(f"warning: ignored remote ref with an invalid tag name: {ref!r}" for ref in doc["ignored_refs"])
    out.extend(f"warning: {p}" for p in doc["problems"])
    return out


def status_document(
    repo: Path, *, component: str | None = None, env: str | None = None, remote: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Read config, registry and the remote snapshot; return the status document and warnings."""
    from planner.config import load_config
    from planner.model import validate_env
    from planner.registry import load_registry
    from planner.state import snapshot

    if env is not None:
        validate_env(env)
    cfg = load_config(repo)
    registry = load_registry(repo)
    state = snapshot(remote or cfg.remote, repo)
    doc = build_status(registry, state, component=component, env=env)
    return doc, state_warnings(doc) + [w.render() for w in registry.warnings]
