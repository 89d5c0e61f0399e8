"""``planner validate``: do the component references in the repository's YAML resolve?

For every reference found in YAML files (ensembles, agent definitions, configs) it reports, with
file:line:col: unregistered components (with a did-you-mean), versions with no tag on the remote,
environments with no env tag on the remote, and references whose KV value is missing or differs
from the tag's content ("works locally but not in production").

Reads, once each: the registry, ONE remote snapshot (ls-remote), the registries and files at the
tag commits (two batched ``git cat-file --batch`` via planner.content; three when a component is
declared by a ``component.yaml`` alone), ONE ``get_many`` per KV
namespace. The middle (``check_refs``) is pure.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from planner.config import PlannerConfig
from planner.content import read_component_files, sha256_hex
from planner.errors import Diagnostic, DiagnosticError, PlannerError, Span
from planner.fileio import read_text_file
from planner.gitio import Repo
from planner.kv.base import KVStore
from planner.kv.layout import keys_for
from planner.model import NAMESPACE_TO_TYPE, TYPE_TO_NAMESPACE, ComponentRef, ModelError, Version, validate_env
from planner.refs import YamlRef, compose_all, is_yaml_path, node_span, parse_ref, walk_scalars
from planner.registry import Registry
from planner.state import RepoState

# Directories never scanned: VCS data, virtualenvs, dependency trees (hidden dirs are skipped too).
_SKIP_DIRS = {"node_modules", "venv", "__pycache__", "dist", "build"}
# A value under one of these keys names a component of that type even without a namespace:
# `prompt: extraction@staging`, `schema: invoice`. Singular types and plural namespaces both work.
_KEY_NAMESPACES: dict[str, str] = {
    **{t.split("-")[0]: ns for t, ns in TYPE_TO_NAMESPACE.items()},
    **{ns: ns for ns in NAMESPACE_TO_TYPE},
}
# Under `uses:` (manifests, ensembles) a plain `type/name` is a reference too.
_USES_KEYS = {"uses", "depends_on", "dependencies"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Target:
    """A KV namespace to compare against: the store and its key layouts."""

    store: KVStore
    layouts: Sequence[str]


@dataclass
class Report:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: int = 0
    references: int = 0

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)


# ---- finding references ------------------------------------------------------------------------


def yaml_files(repo: Path, paths: Sequence[Path]) -> list[Path]:
    """YAML files under ``paths`` (default: the repository), sorted, skipping hidden and vendor dirs."""
    out: set[Path] = set()
    for p in paths or [repo]:
        if p.is_file():
            out.add(p)
            continue
        if not p.is_dir():
            raise PlannerError(f"{p}: no such file or directory")
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
            out.update(Path(dirpath) / f for f in filenames if is_yaml_path(f))
    return sorted(out)


def _by_key(text: str, key: str | None) -> tuple[ComponentRef, str | None] | None:
    """A reference implied by its key: ``prompt: extraction[@slot]`` or ``uses: prompts/extraction``."""
    if key is None:
        return None
    name, _, slot = text.partition("@")
    if key in _USES_KEYS and "/" in name:
        space, _, bare = name.partition("/")
        if space in NAMESPACE_TO_TYPE and _NAME.match(bare):
            return ComponentRef(space, bare), slot or None
        return None
    ns = _KEY_NAMESPACES.get(key)
    # Only a plain component name counts: `prompt: "Summarize this"` or `config: ./app.json` do not.
    if ns is None or not _NAME.match(name):
        return None
    return ComponentRef(ns, name), slot or None


def scan(file: str, text: str) -> list[YamlRef]:
    """References in one YAML text: ``ns/name@slot``, ``type://name[@slot]``, and key-implied ones."""
    out: list[YamlRef] = []
    for doc in compose_all(file, text):
        for node, key in walk_scalars(doc):
            if not isinstance(node.value, str) or node.tag != "tag:yaml.org,2002:str":
                continue
            value = node.value.strip()
            found = parse_ref(value) or _by_key(value, key)
            if found is not None:
                out.append(YamlRef(node_span(file, node), found[0], found[1], node.value, key))
    return sorted(out)


# ---- checking (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KVCheck:
    """One reference whose KV value must equal the file at ``commit``."""

    ref: YamlRef
    env: str  # the namespace (environment) to look in
    slot: str  # the key's slot: a version or an env
    commit: str
    what: str  # "v1.0.0" or "staging (v1.0.0)", for messages


def _did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    hit = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=cutoff)
    return f" (did you mean '{hit[0]}'?)" if hit else ""


def _suggest(ref: ComponentRef, registry: Registry) -> str:
    """A close name in the same namespace, else a close ``type/name`` overall (a namespace typo)."""
    same = [r.name for r in registry.components if r.namespace == ref.namespace]
    hit = difflib.get_close_matches(ref.name, same, n=1, cutoff=0.6)
    if hit:
        return f" (did you mean '{ref.namespace}/{hit[0]}'?)"
    return _did_you_mean(str(ref), [str(r) for r in registry.components], cutoff=0.85)


def check_refs(
    refs: Sequence[YamlRef], *, registry: Registry, state: RepoState, env: str | None
) -> tuple[list[Diagnostic], list[KVCheck]]:
    """Registry and remote-tag checks; returns the diagnostics and the KV comparisons still to make."""
    diags: list[Diagnostic] = []
    kv: list[KVCheck] = []
    for r in refs:
        comp = registry.get(r.ref)
        if comp is None:
            diags.append(Diagnostic("error", f"unregistered component {r.ref}{_suggest(r.ref, registry)}", r.span))
            continue
        cs = state.component(r.ref)
        slot = r.slot if r.slot is not None else env
        if slot is None:
            continue  # `prompt://extraction` without --env: registration is all we can check
        if Version.is_version_slot(slot):
            try:
                version = Version.parse(slot)
            except ModelError as exc:
                diags.append(Diagnostic("error", exc.message, r.span))
                continue
            have = cs.versions.get(version) if cs else None
            if have is None:
                latest = f"; the remote has {', '.join(map(str, list(cs.versions)[-3:]))}" if cs and cs.versions else ""
                diags.append(
                    Diagnostic("error", f"version {version} of {r.ref} has no tag on the remote{latest}", r.span)
                )
                continue
            if env is not None and comp.prefix == "components":
                kv.append(KVCheck(r, env, str(version), have.commit, str(version)))
            continue
        try:
            validate_env(slot)
        except ModelError as exc:
            diags.append(Diagnostic("error", exc.message, r.span))
            continue
        if env is not None and slot != env:
            continue  # --env ENV: only references that resolve in ENV
        pointer = cs.envs.get(slot) if cs else None
        if pointer is None:
            envs = list(cs.envs) if cs else []
            hint = _did_you_mean(slot, envs) or (f"; it has {', '.join(envs)}" if envs else "; it has no env tags")
            diags.append(
                Diagnostic("error", f"environment '{slot}' of {r.ref} has no env tag on the remote{hint}", r.span)
            )
            continue
        if comp.prefix == "components":
            what = f"{slot} ({pointer.version})" if pointer.version else slot
            kv.append(KVCheck(r, slot, slot, pointer.tag.commit, what))
    return diags, kv


def compare_kv(
    checks: Sequence[KVCheck],
    *,
    contents: Mapping[tuple[str, ComponentRef], bytes | None],
    stored: Mapping[str, Mapping[str, bytes]],
    targets: Mapping[str, Target],
) -> list[Diagnostic]:
    """Missing or different KV values (pure): ``stored`` is {env: {key: value}} as read."""
    out: list[Diagnostic] = []
    for c in checks:
        target = targets.get(c.env)
        if target is None:
            continue
        want = contents.get((c.commit, c.ref.ref))
        if want is None:
            out.append(
                Diagnostic(
                    "error", f"{c.ref.ref}: its file does not exist at {c.what} (commit {c.commit[:12]})", c.ref.span
                )
            )
            continue
        for key in keys_for(target.layouts, c.ref.ref.namespace, c.ref.ref.name, c.slot):
            have = stored.get(c.env, {}).get(key)
            if have is None:
                out.append(
                    Diagnostic(
                        "error",
                        f"KV key '{key}' is missing in {c.env}: {c.ref.ref} {c.what} was never synced",
                        c.ref.span,
                    )
                )
            elif have != want:
                out.append(
                    Diagnostic(
                        "error",
                        f"KV key '{key}' in {c.env} differs from the content of {c.ref.ref} {c.what}"
                        f" (store sha256 {sha256_hex(have)[:12]}, tag {sha256_hex(want)[:12]}):"
                        " works locally but not in production",
                        c.ref.span,
                    )
                )
    return out


# ---- I/O edges ---------------------------------------------------------------------------------


def read_contents(
    repo: Repo, registry: Registry, wanted: Iterable[tuple[str, ComponentRef]]
) -> dict[tuple[str, ComponentRef], bytes | None]:
    """File bytes of each component at each commit: the path declared AS IT WAS at that commit
    (renames resolve; see planner.content), else the current one. Two batched
    ``git cat-file --batch`` calls (three with manifest-only components)."""
    items = sorted(set(wanted))
    files = read_component_files(repo, registry, items, via_trees=False, skip_unknown=True)
    out: dict[tuple[str, ComponentRef], bytes | None] = {}
    for key in items:
        blob = files[key][1] if key in files else None  # a component in neither registry: no content
        out[key] = blob.data if blob is not None else None
    return out


def read_stored(checks: Sequence[KVCheck], targets: Mapping[str, Target]) -> dict[str, dict[str, bytes]]:
    """ONE ``get_many`` per namespace (environments sharing a store object share the read)."""
    keys: dict[str, set[str]] = {}
    for c in checks:
        t = targets.get(c.env)
        if t is not None:
            keys.setdefault(c.env, set()).update(keys_for(t.layouts, c.ref.ref.namespace, c.ref.ref.name, c.slot))
    by_store: dict[int, tuple[KVStore, set[str], list[str]]] = {}
    for env, ks in keys.items():
        store = targets[env].store
        entry = by_store.setdefault(id(store), (store, set(), []))
        entry[1].update(ks)
        entry[2].append(env)
    out: dict[str, dict[str, bytes]] = {}
    for store, ks, envs in by_store.values():
        got = {k: e.value for k, e in store.get_many(sorted(ks)).items()}
        for env in envs:
            out[env] = got
    return out


def validate(
    repo: Path,
    paths: Sequence[Path],
    *,
    registry: Registry,
    state: RepoState,
    env: str | None,
    open_targets: Callable[[Sequence[str]], tuple[dict[str, Target], list[Diagnostic]]],
) -> Report:
    report = Report()
    refs: list[YamlRef] = []
    root = repo.resolve()
    for f in yaml_files(repo, paths):
        try:
            name = f.resolve().relative_to(root).as_posix()
        except ValueError:
            name = str(f)
        try:
            text = read_text_file(f, name)
        except DiagnosticError as exc:  # not UTF-8: positioned at the first bad byte
            report.diagnostics.extend(exc.diagnostics)
            continue
        except PlannerError as exc:
            report.diagnostics.append(Diagnostic("error", exc.message, Span(name, 1, 1)))
            continue
        report.files += 1
        report.sources[name] = text
        try:
            refs.extend(scan(name, text))
        except DiagnosticError as exc:
            report.diagnostics.extend(exc.diagnostics)
    report.references = len(refs)
    diags, checks = check_refs(refs, registry=registry, state=state, env=env)
    report.diagnostics.extend(diags)
    if checks:
        targets, problems = open_targets(sorted({c.env for c in checks}))
        report.diagnostics.extend(problems)
        checks = [c for c in checks if c.env in targets]
        try:
            contents = read_contents(Repo(repo), registry, [(c.commit, c.ref.ref) for c in checks])
            stored = read_stored(checks, targets)
        finally:
            for t in targets.values():  # release HTTP clients (Cloudflare); SQLite has nothing to close
                close = getattr(t.store, "close", None)
                if callable(close):
                    close()
        report.diagnostics.extend(compare_kv(checks, contents=contents, stored=stored, targets=targets))
    report.diagnostics.sort(key=lambda d: (d.span or Span("", 0, 0), d.message))
    return report


def config_targets(config: PlannerConfig) -> Callable[[Sequence[str]], tuple[dict[str, Target], list[Diagnostic]]]:
    """Open the configured KV store of each environment; one that cannot be opened is a warning."""

    def open_targets(envs: Sequence[str]) -> tuple[dict[str, Target], list[Diagnostic]]:
        from planner.kv.bindings import open_stores

        out: dict[str, Target] = {}
        problems: list[Diagnostic] = []
        try:  # one call, so environments sharing a namespace share one store (and one read)
            return {e: Target(t.store, t.layouts) for e, t in open_stores(config, envs).items()}, []
        except PlannerError:
            pass  # find out which environment cannot be opened
        for e in envs:
            try:
                t = open_stores(config, [e])[e]
            except PlannerError as exc:
                problems.append(Diagnostic("warning", f"KV content of {e} not checked: {exc.message}"))
                continue
            out[e] = Target(t.store, t.layouts)
        return out, problems

    return open_targets
