"""A snapshot of remote state: ONE ``git ls-remote`` plus ONE local ``git for-each-ref``.

The remote is the truth (``git fetch`` refuses to move local tags, so local tags go stale); local
tags are read only to report where they diverge. Everything after this works in memory.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from planner.collector import collector_paused
from planner.gitio import SNAPSHOT_PATTERNS, GitError, Remote, Repo, collect, start_snapshot_reads
from planner.gitremote import parse_ls_remote
from planner.model import (
    _MAX_NAME,
    LEDGER_REF,
    NAME_PATTERN,
    NAMESPACE_TO_TYPE,
    ComponentRef,
    ModelError,
    Prefix,
    TagName,
    Version,
    journal_apply_id,
    parse_slot,
)

_UNSEEN: object = object()


@dataclass(frozen=True)
class RemoteTag:
    """One tag as the remote advertises it."""

    tag: TagName
    object: str  # what the ref points at: a tag object (annotated) or a commit (lightweight)
    commit: str  # fully peeled (an edgit env tag may point at a version tag object)

    @property
    def ref(self) -> str:
        return self.tag.ref


@dataclass(frozen=True)
class EnvPointer:
    """Where an environment tag points, and the version found at that commit."""

    env: str
    tag: RemoteTag
    version: Version | None  # the version it names (planner.exact), None if no version is there


VersionRow = tuple[Version, str, str]  # (version, object, commit)
EnvRow = tuple[str, str, str, "Version | None"]  # (env, object, commit, highest version at that commit)


class ComponentState:
    """One component's tags on the remote.

    Kept as compact rows of shared strings and versions: ``planner status`` reads 10,000 tags and
    needs only their text, so the typed per-tag objects (``versions``, ``envs``) are built on
    first use, once per component. A snapshot is read-only: the rows are what every reader uses.
    """

    __slots__ = ("_envs", "_versions", "env_rows", "prefix", "ref", "version_rows")

    def __init__(self, ref: ComponentRef, prefix: Prefix) -> None:
        self.ref = ref
        self.prefix = prefix
        self.version_rows: list[VersionRow] = []  # semver ascending once built
        self.env_rows: list[EnvRow] = []  # by env name once built
        self._versions: dict[Version, RemoteTag] | None = None
        self._envs: dict[str, EnvPointer] | None = None

    def _finish(self) -> None:
        """Sort the rows and give each env tag the highest version at its commit."""
        rows = self.version_rows
        if len(rows) > 1:
            rows.sort(key=_row_key)
        envs = self.env_rows
        if envs:
            if rows:
                at = {commit: v for v, _, commit in rows}  # ascending: the highest version wins
                envs = self.env_rows = [(e, o, c, at.get(c)) for e, o, c, _ in envs]
            if len(envs) > 1:
                envs.sort()  # by name: a component's env names are unique, so only they are compared

    def _tag(self, slot: Version | str, obj: str, commit: str) -> RemoteTag:
        return RemoteTag(TagName(self.prefix, self.ref.namespace, self.ref.name, slot), obj, commit)

    @property
    def versions(self) -> dict[Version, RemoteTag]:
        """Semver ascending."""
        if self._versions is None:
            self._versions = {v: self._tag(v, o, c) for v, o, c in self.version_rows}
        return self._versions

    @property
    def envs(self) -> dict[str, EnvPointer]:
        """By env name."""
        if self._envs is None:
            self._envs = {e: EnvPointer(e, self._tag(e, o, c), v) for e, o, c, v in self.env_rows}
        return self._envs

    def versions_at(self, commit: str) -> list[Version]:
        return [v for v, _, c in self.version_rows if c == commit]

    @property
    def latest(self) -> Version | None:
        return self.version_rows[-1][0] if self.version_rows else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComponentState):
            return NotImplemented
        mine = (self.ref, self.prefix, self.version_rows, self.env_rows)
        return mine == (other.ref, other.prefix, other.version_rows, other.env_rows)

    __hash__ = None  # type: ignore[assignment]  # compared by value, like the mutable dataclass it was

    def __repr__(self) -> str:
        versions = [str(v) for v, _, _ in self.version_rows]
        envs = {e: (str(v) if v else c[:12]) for e, _, c, v in self.env_rows}
        return f"ComponentState({self.ref}, {self.prefix!r}, versions={versions}, envs={envs})"


def _row_key(row: VersionRow) -> tuple[object, ...]:
    return row[0]._sort_key


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
    """The remote's components, versions and environments, read once (see ``snapshot``)."""

    remote: str  # URL or path, credentials removed
    components: Mapping[ComponentRef, ComponentState]  # sorted by (namespace, name)
    refs: Mapping[str, str]  # every ref read from the remote -> the object it points at
    ledger: str | None = None  # commit of refs/planner/ledger on the remote
    divergences: tuple[Divergence, ...] = ()
    ignored: tuple[str, ...] = ()  # refs under our prefixes that are not valid tag names
    problems: tuple[str, ...] = ()  # e.g. one component under both prefixes
    # The remote as given (it may hold credentials: never shown): where missing commits are fetched.
    source: Remote | None = dataclasses.field(default=None, repr=False, compare=False)

    def component(self, ref: ComponentRef) -> ComponentState | None:
        return self.components.get(ref)

    def env_names(self) -> list[str]:
        return sorted({row[0] for c in self.components.values() for row in c.env_rows})


# The common, valid tag ref in one match (same rules as TagName.parse: known namespace, name alphabet
# and length); anything else goes through TagName.try_parse, which decides and explains. No '^' in
# the slot: a stray peeled line (``...^{}``) must not look like a tag.
_TAG_BODY = rf"refs/tags/(components|logic)/({'|'.join(NAMESPACE_TO_TYPE)})/((?=[^/]{{1,{_MAX_NAME}}}/){NAME_PATTERN})/([^/^\t\n]+)"
_TAG_REF = re.compile(_TAG_BODY)
# (object, ref, prefix, namespace, name, slot text, peeled commit or ""); the four tag parts are ""
# unless the ref matched _TAG_REF.
_Row = tuple[str, str, str, str, str, str, str]


def build_state(
    remote: Remote,
    remote_refs: Mapping[str, tuple[str, str]],
    local_refs: Mapping[str, str] | None = None,
) -> RepoState:
    """Pure: assemble a RepoState from already-read refs (also used by tests and benchmarks)."""
    fast = _TAG_REF.fullmatch
    rows: list[_Row] = []
    for ref, (obj, commit) in remote_refs.items():
        m = fast(ref)
        rows.append((obj, ref, *(m.groups() if m else ("", "", "", "")), commit))  # type: ignore[arg-type]
    return _assemble(remote, rows, local_refs)


def _assemble(remote: Remote, rows: list[_Row], local_refs: Mapping[str, str] | None) -> RepoState:
    by_name: dict[tuple[str, str], ComponentState] = {}  # (namespace, name) -> state
    refs: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[str] = []
    ledger: str | None = None
    slots: dict[str, Version | str | None] = {}  # remotes repeat a few slot texts: validate each once
    key: tuple[str, str] | None = None
    cs: ComponentState | None = None
    for obj, ref, prefix, namespace, name, slot_text, peeled in rows:
        refs[ref] = obj
        commit = peeled or obj
        if prefix:
            slot = slots.get(slot_text, _UNSEEN)
            if slot is _UNSEEN:
                try:
                    slot = slots[slot_text] = parse_slot(slot_text)
                except ModelError:
                    slot = slots[slot_text] = None
            if slot is None:
                ignored.append(ref)
                continue
        elif ref == LEDGER_REF:
            ledger = commit
            continue
        elif not ref.startswith("refs/tags/"):
            apply_id = journal_apply_id(ref)
            if apply_id is not None:  # planner.txn.remotejournal: an apply not closed
                problems.append(
                    f"apply {apply_id} is in flight or was interrupted (its journal is on "
                    f"the remote, {ref}): if it is not running, `planner recover` finishes or undoes it"
                )
            continue
        else:
            parsed = TagName.try_parse(ref)
            if parsed is None:
                ignored.append(ref)
                continue
            prefix, namespace, name, slot = parsed.prefix, parsed.namespace, parsed.name, parsed.slot
        if key is None or key[1] != name or key[0] != namespace:  # git lists a component's tags together
            key = (namespace, name)
            cs = by_name.get(key)
            if cs is None:
                cs = by_name[key] = ComponentState(ComponentRef(namespace, name), prefix)  # type: ignore[arg-type]
        assert cs is not None
        if cs.prefix != prefix:
            problems.append(f"{cs.ref} has tags under both 'components/' and 'logic/' ({ref})")
            continue
        if isinstance(slot, Version):
            cs.version_rows.append((slot, obj, commit))
        else:
            cs.env_rows.append((slot, obj, commit, None))  # type: ignore[arg-type]
    for cs in by_name.values():
        cs._finish()
    divergences: list[Divergence] = []
    if local_refs:
        # Set difference in C: a local clone usually holds every remote tag, unchanged.
        for ref, local_oid in sorted(local_refs.items() - refs.items()):
            divergences.append(Divergence(ref, local_oid, refs.get(ref)))
    return RepoState(
        remote=remote.shown,
        source=remote,
        components={cs.ref: cs for _, cs in sorted(by_name.items())},  # (namespace, name): C-level compares
        refs=refs,
        ledger=ledger,
        divergences=tuple(divergences),
        ignored=tuple(sorted(ignored)),
        problems=tuple(problems),
    )


def read_remote_refs(repo: Repo, remote: Remote) -> dict[str, tuple[str, str]]:
    """ONE ``git ls-remote`` for our tag prefixes and the ledger ref."""
    return repo.ls_remote(remote, SNAPSHOT_PATTERNS)


def _parse_local(proc: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    if proc.returncode != 0:  # not a git repository: nothing local to compare with
        return {}
    out: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        oid, _, ref = line.partition(" ")
        if ref:
            out[ref] = oid
    return out


def snapshot(repo: Repo, remote: Remote) -> RepoState:
    """Read the remote once and the local checkout once, and build the snapshot."""
    with collector_paused():
        return _snapshot(repo, remote)


def _snapshot(repo: Repo, remote: Remote) -> RepoState:
    # Both reads at once: the local for-each-ref runs while ls-remote waits on the remote.
    try:
        remote_proc, local_proc = collect(start_snapshot_reads(remote.spec, repo.root), [True, False])
    except GitError as exc:
        raise repo.remote_failure(remote, exc) from None  # which of the usual reasons, as a sentence
    text = remote_proc.stdout.decode("utf-8", "replace")
    state = build_state(remote, parse_ls_remote(text), _parse_local(local_proc))
    from planner.exact import pin_env_versions  # imports this module; costs nothing without ambiguity

    problems = pin_env_versions(state, repo, remote)
    return dataclasses.replace(state, problems=(*state.problems, *problems)) if problems else state
