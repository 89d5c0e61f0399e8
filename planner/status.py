"""The status view: registry x remote snapshot -> one stable, JSON-ready document.

Pure: the CLI reads the registry and the snapshot, this module joins them. The JSON shape is a
contract (docs/foundation.md); ``STATUS_SCHEMA`` changes whenever it changes incompatibly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.model import NAMESPACE_TO_TYPE, ComponentRef, ModelError, Prefix, TagName
from planner.registry import Component, Registry
from planner.state import ComponentState, RepoState

STATUS_SCHEMA = "planner.status/1"


def select_components(registry: Registry, state: RepoState, component: str | None) -> list[ComponentRef]:
    """Every component known to the registry or the remote, or just the one asked for."""
    refs = list(state.components)  # already sorted by (namespace, name)
    unseen = [r for r in registry.components if r not in state.components]  # registered, no tags yet
    if unseen:
        # Same order as ComponentRef's own (namespace, name), compared as plain tuples in C.
        refs = sorted(refs + unseen, key=lambda r: (r.namespace, r.name))
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
    reg: Component | None,
    uses: frozenset[ComponentRef],
    cs: ComponentState | None,
    envs: list[str],
) -> dict[str, Any]:
    # Read from the snapshot's compact rows: no per-tag objects (10,000 tags, see bench/README.md).
    prefix: Prefix = reg.prefix if reg else cs.prefix if cs else "components"
    env_docs: dict[str, Any] = dict.fromkeys(envs)  # None: no tag for that env
    versions: list[str] = []
    if cs is not None:
        tags = f"refs/tags/{cs.prefix}/{ref}/"  # where this component's tags are
        for env, obj, commit, version in cs.env_rows:
            if env in env_docs:  # with --env, the other envs are left out
                env_docs[env] = {
                    "version": version._text if version else None,
                    "commit": commit,
                    "tag_object": obj,
                    "ref": tags + env,
                }
        versions = [v._text for v, _, _ in cs.version_rows]
    namespace, name = ref.namespace, ref.name
    return {
        "component": f"{namespace}/{name}",
        "type": NAMESPACE_TO_TYPE[namespace],
        "name": name,
        "prefix": prefix,
        "needs_rebuild": prefix == "logic",
        "registered": reg is not None,
        "path": reg.path if reg else None,
        "uses": sorted(str(u) for u in uses),
        "latest": versions[-1] if versions else None,
        # Version strings only (semver ascending): commits and tag objects of versions are in the
        # library's RepoState; keeping them out halves the document on a 10,000-tag remote.
        "versions": versions,
        "envs": env_docs,
    }


def prefix_mismatches(registry: Registry, state: RepoState, refs: list[ComponentRef]) -> list[str]:
    """Components whose registry prefix differs from where their tags live on the remote."""
    out: list[str] = []
    if not registry.components:
        return out
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
    envs = [env] if env is not None else state.env_names()
    deps = registry.dependencies()
    registered, remote = registry.components, state.components
    none: frozenset[ComponentRef] = frozenset()
    comps = [
        # Lookups skipped when there is nothing to find: hashing a ComponentRef is Python code.
        _component_doc(
            r,
            registered.get(r) if registered else None,
            deps.get(r, none) if deps else none,
            remote.get(r),
            envs,
        )
        for r in refs
    ]
    return {
        "schema": STATUS_SCHEMA,
        "remote": state.remote,
        "environments": envs,
        "components": comps,
        "divergences": [{"ref": d.ref, "local": d.local, "remote": d.remote} for d in state.divergences],
        "ignored_refs": list(state.ignored),
        "problems": list(state.problems) + prefix_mismatches(registry, state, refs),
    }


def dump_json(doc: dict[str, Any]) -> str:
    """The document as compact JSON on one line (the format scripts poll)."""
    return json.dumps(doc, separators=(",", ":"), check_circular=False) + "\n"


SHOWN_PER_KIND = 20  # warning lines per kind on stderr; the JSON document lists every one


def state_warnings(doc: dict[str, Any]) -> list[str]:
    """Divergences, ignored refs and problems as ``warning:`` lines (for stderr, never for JSON stdout).

    At most ``SHOWN_PER_KIND`` of each kind, then one line counting the rest: 4,000 alike lines
    (a registry whose env tags all share commits with several versions) would bury the others."""
    divergences = []
    for d in doc["divergences"]:
        if d["remote"] is None:
            divergences.append(f"{d['ref']}: exists locally ({d['local'][:12]}) but not on the remote")
        else:
            divergences.append(f"{d['ref']}: local tag is stale ({d['local'][:12]}), the remote has {d['remote'][:12]}")
    ignored = [f"ignored remote ref with an invalid tag name: {ref!r}" for ref in doc["ignored_refs"]]
    return [
        *_capped(divergences, "local tags that differ from the remote", "divergences"),
        *_capped(ignored, "ignored remote refs", "ignored_refs"),
        *_capped(doc["problems"], "problems", "problems"),
    ]


def _capped(messages: list[str], what: str, field: str) -> list[str]:
    out = [f"warning: {m}" for m in messages[:SHOWN_PER_KIND]]
    if len(messages) > SHOWN_PER_KIND:
        out.append(
            f"warning: ... and {len(messages) - SHOWN_PER_KIND} more {what} "
            f"(`planner status --format json` lists them all under {field!r})"
        )
    return out


def reverted_releases(state: RepoState, repo: Repo, remote: Remote) -> list[str]:
    """Refs the ledger says an apply set, that are now back at what they were BEFORE it: the mark of
    an edgit-style ``push --tags --force`` from a checkout with stale tags. A ref moved on to
    something else (edgit promoting anew) is not a revert and is not reported."""
    if state.ledger is None:
        return []
    from planner.txn.ledger import history_at

    try:
        records = history_at(repo, remote, state.ledger)
    except PlannerError as exc:
        return [f"warning: cannot read the ledger to check for reverted releases: {exc.message}"]
    latest: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for rec in records:  # newest first: the first record that touches a ref is its latest change
        for ch in rec.get("refs", []):
            if isinstance(ch, dict) and isinstance(ch.get("ref"), str):
                latest.setdefault(ch["ref"], (rec, ch))
    out = []
    for ref, (rec, ch) in sorted(latest.items()):
        now, after, before = state.refs.get(ref), ch.get("after"), ch.get("before")
        if now is not None and now != after and now == before:
            was, set_to = ch.get("before_version") or str(before)[:12], ch.get("after_version") or str(after)[:12]
            tag = TagName.try_parse(ref)  # written as plans write it: `prompts/extraction in staging`
            what = f"{tag.component} in {tag.slot}" if tag is not None else ref.removeprefix("refs/tags/")
            out.append(
                f"warning: {what} is back at {was}, where it was before apply "
                f"{rec.get('apply_id')} ({rec.get('plan_name')}) set it to {set_to}: a release was reverted "
                "outside the planner (an edgit `push --tags --force` from a checkout with stale tags?)"
            )
    return out


def status_document(
    repo: Path,
    *,
    component: str | None = None,
    env: str | None = None,
    remote: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Read config, registry and the remote snapshot; return the status document and warnings."""
    from planner.collector import collector_paused

    with collector_paused():  # the document is as acyclic as the snapshot it is built from
        return _status_document(repo, component=component, env=env, remote=remote)


def _status_document(
    repo: Path, *, component: str | None, env: str | None, remote: str | None
) -> tuple[dict[str, Any], list[str]]:
    from planner.config import load_config
    from planner.model import validate_env
    from planner.registry import load_registry
    from planner.state import snapshot

    if env is not None:
        validate_env(env)
    cfg = load_config(repo)
    registry = load_registry(repo)
    git, rem = Repo(repo), Remote(remote or cfg.remote)  # the command's repository and remote
    state = snapshot(git, rem)
    if env is not None:
        from planner.config import check_known_env

        check_known_env(env, cfg, state.env_names())
    doc = build_status(registry, state, component=component, env=env)
    reverted = reverted_releases(state, git, rem)
    return doc, state_warnings(doc) + [w.render() for w in registry.warnings] + reverted
