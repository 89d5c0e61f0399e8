"""A snapshot of remote state: ONE ``git ls-remote`` plus ONE local ``git for-each-ref``.

The remote is the truth (``git fetch`` refuses to move local tags, so local tags go stale); local
tags are read only to report where they diverge. Everything after this works in memory.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from planner.gitio import Opt, git_text, redact_url, run_git, run_git_concurrently
from planner.model import _MAX_NAME, NAMESPACE_TO_TYPE, ComponentRef, ModelError, Prefix, TagName, Version, parse_slot

LEDGER_REF = "refs/planner/ledger"
_UNSEEN: object = object()
_PATTERNS = ("refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*")


@dataclass(frozen=True)
class RemoteTag:
    tag: TagName
    object: str  # what the ref points at: a tag object (annotated) or a commit (lightweight)
    commit: str  # fully peeled (an edgit env tag may point at a version tag object)

    @property
    def ref(self) -> str:
        return self.tag.ref


@dataclass(frozen=True)
class EnvPointer:
    env: str
    tag: RemoteTag
    version: Version | None  # highest version tag at the same commit, None if no version is there


@dataclass
class ComponentState:
    ref: ComponentRef
    prefix: Prefix
    versions: dict[Version, RemoteTag] = field(default_factory=dict)  # semver-sorted after build
    envs: dict[str, EnvPointer] = field(default_factory=dict)  # sorted by env name after build

    def versions_at(self, commit: str) -> list[Version]:
        return [v for v, t in self.versions.items() if t.commit == commit]

    @property
    def latest(self) -> Version | None:
        return next(reversed(self.versions), None) if self.versions else None


@dataclass(frozen=True)
class Divergence:
    """A local tag that does not match the remote: stale, or never pushed."""

    ref: str
    local: str
    remote: str | None  # None: the tag exists only locally

    def describe(self) -> str:
        if self.remote is None:
            return f"{self.ref}: exists locally ({self.local[:12]}) but not on the remote"
        return f"{self.ref}: local tag is stale ({self.local[:12]}), the remote has {self.remote[:12]}"


@dataclass(frozen=True)
class RepoState:
    remote: str  # URL or path, credentials removed
    components: Mapping[ComponentRef, ComponentState]
    refs: Mapping[str, str]  # every ref read from the remote -> the object it points at
    ledger: str | None = None  # commit of refs/planner/ledger on the remote
    divergences: tuple[Divergence, ...] = ()
    ignored: tuple[str, ...] = ()  # refs under our prefixes that are not valid tag names
    problems: tuple[str, ...] = ()  # e.g. one component under both prefixes

    def component(self, ref: ComponentRef) -> ComponentState | None:
        return self.components.get(ref)

    def env_names(self) -> list[str]:
        return sorted({e for c in self.components.values() for e in c.envs})


# One pass over the whole output: a ref line, then (for an annotated tag) its ``^{}`` peeled line.
_LS_LINE = re.compile(r"^([^\t\n]+)\t([^\n]+)\n(?:([^\t\n]+)\t\2\^\{\}(?:\n|\Z))?", re.M)


def parse_ls_remote(text: str) -> dict[str, tuple[str, str]]:
    """``oid<TAB>ref`` lines -> {ref: (object, peeled commit)}; ``^{}`` lines give the peeled oid."""
    if not text.endswith("\n"):
        text += "\n"
    out: dict[str, tuple[str, str]] = {}
    stray: dict[str, str] = {}  # a peeled line not right after its ref (git never writes one)
    for oid, ref, peeled in _LS_LINE.findall(text):
        if ref.endswith("^{}"):
            stray[ref[:-3]] = oid
        else:
            out[ref] = (oid, peeled or oid)
    for ref, oid in stray.items():
        if ref in out:
            out[ref] = (out[ref][0], oid)
    return out


# The common, valid tag ref in one match (same rules as TagName.parse: known namespace, name alphabet
# and length); anything else goes through TagName.try_parse, which decides and explains.
_TAG_REF = re.compile(
    rf"refs/tags/(components|logic)/({'|'.join(NAMESPACE_TO_TYPE)})/([a-z0-9][a-z0-9_-]{{0,{_MAX_NAME - 1}}})/([^/]+)"
)


def build_state(
    remote: str,
    remote_refs: Mapping[str, tuple[str, str]],
    local_refs: Mapping[str, str] | None = None,
) -> RepoState:
    """Pure: assemble a RepoState from already-read refs (also used by tests and benchmarks)."""
    comps: dict[ComponentRef, ComponentState] = {}
    by_name: dict[tuple[str, str], ComponentState] = {}  # (namespace, name) -> state, no object per ref
    ignored: list[str] = []
    problems: list[str] = []
    env_tags: list[tuple[ComponentState, str, RemoteTag]] = []
    ledger: str | None = None
    slots: dict[str, Version | str | None] = {}  # remotes repeat a few slot texts: validate each once
    fast = _TAG_REF.fullmatch
    for ref, (obj, commit) in remote_refs.items():
        m = fast(ref)
        if m is not None:
            prefix, namespace, name, slot_text = m.groups()
            slot = slots.get(slot_text, _UNSEEN)
            if slot is _UNSEEN:
                try:
                    slot = slots[slot_text] = parse_slot(slot_text)
                except ModelError:
                    slot = slots[slot_text] = None
            if slot is None:
                ignored.append(ref)
                continue
            tag = TagName(prefix, namespace, name, slot)  # type: ignore[arg-type]
        elif ref == LEDGER_REF:
            ledger = commit
            continue
        elif not ref.startswith("refs/tags/"):
            continue
        else:
            parsed = TagName.try_parse(ref)
            if parsed is None:
                ignored.append(ref)
                continue
            tag, namespace, name, slot = parsed, parsed.namespace, parsed.name, parsed.slot
        rt = RemoteTag(tag, obj, commit)
        cs = by_name.get((namespace, name))
        if cs is None:
            cref = ComponentRef(namespace, name)
            cs = by_name[(namespace, name)] = comps[cref] = ComponentState(cref, tag.prefix)
        elif cs.prefix != tag.prefix:
            problems.append(f"{cs.ref} has tags under both 'components/' and 'logic/' ({ref})")
            continue
        if isinstance(slot, Version):
            cs.versions[slot] = rt
        else:
            env_tags.append((cs, slot, rt))  # type: ignore[arg-type]
    by_commit: dict[tuple[int, str], Version] = {}  # (id of the component state, commit) -> version
    for cs in comps.values():
        if len(cs.versions) > 1:
            cs.versions = dict(sorted(cs.versions.items(), key=_version_key))
        for v, t in cs.versions.items():  # ascending, so the highest version at a commit wins
            by_commit[(id(cs), t.commit)] = v
    for cs, env, rt in env_tags:
        cs.envs[env] = EnvPointer(env, rt, by_commit.get((id(cs), rt.commit)))
    for cs in comps.values():
        if len(cs.envs) > 1:
            cs.envs = dict(sorted(cs.envs.items()))
    divergences: list[Divergence] = []
    if local_refs is not None:
        for ref, local_oid in sorted(local_refs.items()):
            remote_entry = remote_refs.get(ref)
            if remote_entry is None:
                divergences.append(Divergence(ref, local_oid, None))
            elif remote_entry[0] != local_oid:
                divergences.append(Divergence(ref, local_oid, remote_entry[0]))
    return RepoState(
        remote=redact_url(remote),
        components={cs.ref: cs for _, cs in sorted(by_name.items())},  # (namespace, name): C-level compares
        refs={ref: obj for ref, (obj, _) in remote_refs.items()},
        ledger=ledger,
        divergences=tuple(divergences),
        ignored=tuple(sorted(ignored)),
        problems=tuple(problems),
    )


def _version_key(item: tuple[Version, RemoteTag]) -> tuple[object, ...]:
    return item[0]._sort_key


def _ls_remote_args(remote: str) -> list[str | Opt]:
    # A remote that looks like an option is refused by run_git; patterns stay positional.
    return ["ls-remote", remote, *_PATTERNS]


_FOR_EACH_REF: list[str | Opt] = [
    "for-each-ref",
    Opt("--format=%(objectname) %(refname)"),
    "refs/tags/components/",
    "refs/tags/logic/",
]


def read_remote_refs(remote: str, cwd: Path | str | None = None) -> dict[str, tuple[str, str]]:
    """ONE ``git ls-remote`` for our tag prefixes and the ledger ref."""
    return parse_ls_remote(git_text(_ls_remote_args(remote), cwd=cwd or "."))


def _parse_local(proc: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    if proc.returncode != 0:  # not a git repository: nothing local to compare with
        return {}
    out: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        oid, _, ref = line.partition(" ")
        if ref:
            out[ref] = oid
    return out


def read_local_refs(repo: Path | str) -> dict[str, str]:
    """ONE ``git for-each-ref`` of local tags under our prefixes: {ref: object id}."""
    return _parse_local(run_git(_FOR_EACH_REF, cwd=repo, check=False))


def snapshot(remote: str, repo: Path | str | None = None) -> RepoState:
    """Read the remote once (and the local checkout once, if given) and build the snapshot."""
    if repo is None:
        return build_state(remote, read_remote_refs(remote), None)
    # Both reads at once: the local for-each-ref runs while ls-remote waits on the remote.
    remote_proc, local_proc = run_git_concurrently([(_ls_remote_args(remote), True), (_FOR_EACH_REF, False)], cwd=repo)
    remote_refs = parse_ls_remote(remote_proc.stdout.decode("utf-8", "replace"))
    return build_state(remote, remote_refs, _parse_local(local_proc))
