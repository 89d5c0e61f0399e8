"""Which version an env tag names when several versions share its commit.

ls-remote's peeled lines give only the commit, so ``v1.2.0-rc.1`` and ``v1.2.0`` at one commit
look alike. The tag objects tell them apart, read only for those ambiguous env tags (a 10,000-tag
status usually has none, and then this costs nothing):

1. edgit nests the env tag object on the version's tag object: the version whose tag object the
   env tag points at is the one (ONE ``git cat-file --batch`` for every ambiguous env tag).
2. The planner points env tags at the commit (DESIGN.md section 2, so edgit's ``components show``
   can name the version): the ledger record that wrote that exact env tag object names the
   version it promoted (``after_version``).
3. Otherwise (a tag neither wrote, or its objects cannot be read): the highest version at the
   commit, as before, and a problem says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.blobs import fetch_objects, read_objects
from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.model import Version

if TYPE_CHECKING:  # types only: planner.state calls this module while it builds a snapshot
    from planner.state import ComponentState, RepoState

# (component state, index in env_rows, candidate versions -> their tag objects)
_Ambiguous = tuple["ComponentState", int, dict[str, Version]]


def _ambiguous(state: RepoState) -> list[_Ambiguous]:
    out: list[_Ambiguous] = []
    for cs in state.components.values():
        rows = cs.version_rows
        if not cs.env_rows or len(rows) < 2 or len({commit for _, _, commit in rows}) == len(rows):
            continue  # the usual case: each version at its own commit names itself
        by_commit: dict[str, dict[str, Version]] = {}
        for v, obj, commit in rows:  # semver ascending, so each dict's versions are too
            by_commit.setdefault(commit, {})[obj] = v
        for i, (_, _, commit, _) in enumerate(cs.env_rows):
            candidates = by_commit.get(commit)
            if candidates is not None and len(candidates) > 1:
                out.append((cs, i, candidates))
    return out


def _target_of(data: bytes) -> tuple[str, str] | None:
    """A tag object's ``object`` and ``type`` header lines (found in place: the message is not copied)."""
    eol = data.find(b"\n")
    if not data.startswith(b"object ") or not data.startswith(b"type ", eol + 1):
        return None
    end = data.find(b"\n", eol + 6)
    kind = data[eol + 6 : end if end >= 0 else len(data)]
    return data[7:eol].decode("ascii", "replace"), kind.decode("ascii", "replace")


def _ledger_versions(repo: Repo, remote: Remote, head: str | None) -> dict[tuple[str, str], str]:
    """``{(env ref, env tag object): version}`` as the ledger recorded them (newest wins)."""
    if head is None:
        return {}
    from planner.txn.ledger import history_at  # the ledger reader: planner.txn loads nothing else

    try:
        records = history_at(repo, remote, head)
    except PlannerError:
        return {}
    out: dict[tuple[str, str], str] = {}
    for rec in reversed(records):  # oldest first: a newer record overwrites
        for ch in rec.get("refs", []):
            after, version = ch.get("after"), ch.get("after_version")
            if isinstance(after, str) and isinstance(version, str):
                out[(ch.get("ref", ""), after)] = version
    return out


def _ref(cs: ComponentState, env: str) -> str:
    return f"refs/tags/{cs.prefix}/{cs.ref}/{env}"


def pin_env_versions(state: RepoState, repo: Repo, remote: Remote) -> list[str]:
    """Give each ambiguous env tag the version it names; return problems for those left to the
    highest-version rule. Mutates the snapshot's rows (before anyone has read them)."""
    todo = _ambiguous(state)
    if not todo:
        return []
    env_objs = {cs.env_rows[i][1] for cs, i, _ in todo}
    try:
        objs: dict[str, Any] = read_objects(repo, env_objs)
        missing = [o for o, obj in objs.items() if obj is None]
        if missing and fetch_objects(repo, remote, missing):
            objs.update(read_objects(repo, missing))
    except PlannerError:
        objs = {}
    ledger: dict[tuple[str, str], str] | None = None
    problems: list[str] = []
    for cs, i, candidates in todo:
        env, obj, commit, highest = cs.env_rows[i]
        found = objs.get(obj)
        target = _target_of(found.data) if found is not None and found.kind == "tag" else None
        version: Version | None = None
        if target is not None and target[1] == "tag":
            version = candidates.get(target[0])  # edgit: nested on the version's tag object
        elif obj == commit or target is not None:  # straight at the commit: the planner's way
            if ledger is None:
                ledger = _ledger_versions(repo, remote, state.ledger)
            text = ledger.get((_ref(cs, env), obj)) if ledger else None
            version = next((v for v in candidates.values() if v._text == text), None)
        if version is None:
            shown = ", ".join(v._text for v in candidates.values())
            problems.append(
                f"{_ref(cs, env)}: versions {shown} share its commit {commit[:12]} and neither its tag object "
                f"nor the ledger says which one it names; showing the highest ({highest})"
            )
            continue
        cs.env_rows[i] = (env, obj, commit, version)
    return problems
