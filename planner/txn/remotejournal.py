"""The journal's copy on the remote, ``refs/planner/journal/<apply id>``: what lets an apply
interrupted on one machine (a CI runner that was killed, a laptop that died) be finished or
undone from another.

The local journal (planner.txn.journal) has every step, but it lives and dies with its checkout.
The copy holds what recover needs on any machine: the intent with every old value (the ``begin``
entry and the blobs it refers to); what landed is read from the ledger (planner.txn.ledgerview),
never from a journal. So the copy is pushed only where what recover must do changes:

- right after ``begin``, before anything is written (one small push, a new ref: no lease to lose);
- at ``compensate``, so another machine finishes an undo instead of rolling forward;
- removed (with a lease on what we pushed) when the journal closes: done, undone, recovered.

Each apply has its own ref, so applies of disjoint targets still run side by side. A machine
that adopts a copy (planner.txn.recover) cannot know what the lost one did after ``begin``, so
the adopted journal counts every key of the intent as touched. A copy whose ref is gone was
recovered elsewhere: a local journal that had published it is then closed without acting.
``pushing`` entries (process ids) are left out: they mean nothing on another machine.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planner.blobs import read_objects
from planner.errors import PlannerError
from planner.gitio import GitError, Opt, Remote, Repo
from planner.model import JOURNAL_PREFIX, journal_apply_id
from planner.txn import ledger
from planner.txn.commit import journal_push
from planner.txn.context import Context
from planner.txn.errors import ConflictError
from planner.txn.journal import POINTS
from planner.txn.push import OnStart, RefUpdate, atomic_push

FILE = "journal.json"
LOCAL_PREFIX = "refs/planner/remote-journal/"  # local copies of the remote's, for reading


@dataclass(frozen=True)
class RemoteCopy:
    ref: str
    oid: str
    entries: list[dict[str, Any]]
    blobs: dict[str, bytes]
    host: str

    @property
    def apply_id(self) -> str:
        return str(self.entries[0]["intent"]["apply_id"])

    @property
    def intent(self) -> dict[str, Any]:
        intent: dict[str, Any] = self.entries[0]["intent"]
        return intent

    def describe(self) -> str:
        i = self.intent
        where = i.get("ci_run_url") or f"host {self.host}"
        return f"apply {self.apply_id} of plan {i.get('plan_name')!r} by {i.get('actor')} ({where})"


def ref_of(apply_id: str) -> str:
    return JOURNAL_PREFIX + apply_id


def copies_on(remote_refs: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """{apply id: commit} of the copies among ``remote_refs`` (a snapshot's ls-remote)."""
    out = {}
    for ref, (oid, _peeled) in remote_refs.items():
        apply_id = journal_apply_id(ref)
        if apply_id is not None:
            out[apply_id] = oid
    return out


def publish(ctx: Context, apply_id: str, old: str | None) -> str:
    """Push the journal as it is now to the apply's ref (``old``: what is there, None: nothing);
    journal it (``published``) and return the commit."""
    entries = [e for e in ctx.journal.entries if e["point"] != "pushing"]
    record = {
        "format": 1,
        "host": socket.gethostname(),
        "entries": entries,
        "blobs": {d: base64.b64encode(v).decode() for d, v in ctx.journal.all_blobs().items()},
    }
    commit = ledger.record_commit(ctx.repo, record, FILE, f"journal of apply {apply_id}\n", None)
    # journaled like every push that may outlive a crash, so that recover waits for it: a copy
    # landing after recover closed the journal would be a stale copy for another machine
    on_start = OnStart(ctx.journal.current, lambda pid: journal_push(ctx, pid, None))
    atomic_push(ctx.repo, ctx.remote, [RefUpdate(ref_of(apply_id), old, commit)], on_start=on_start)
    ctx.journal.copy_oid = commit
    ctx.journal.write("published", oid=commit)
    return commit


def republish(ctx: Context, apply_id: str) -> None:
    """Update the copy (at ``compensate``); a failure is only reported: the local undo goes on, and
    a machine that adopts the older copy still ends all-old or all-new."""
    try:
        publish(ctx, apply_id, ctx.journal.remote_oid)
    except PlannerError as exc:
        ctx.progress(f"warning: the journal's copy on the remote was not updated: {exc.message.splitlines()[0]}")


def retire(ctx: Context, apply_id: str, oid: str) -> None:
    """Remove the copy (lease: it still is ``oid``). A failure is only reported: the apply itself
    is closed, and a copy left behind is closed by the next ``planner recover``. A copy left
    behind is costly (a recover elsewhere finishes the apply again, verify checks included), so
    a failing network gets three tries; a failed lease is final."""
    failure: PlannerError | None = None
    for attempt in range(3):
        try:
            atomic_push(ctx.repo, ctx.remote, [RefUpdate(ref_of(apply_id), oid, None)])
            return
        except ConflictError as exc:
            failure = exc
            break
        except PlannerError as exc:
            failure = exc
            time.sleep(0.5 * (attempt + 1))
    assert failure is not None
    ctx.progress(
        f"warning: the journal's copy on the remote ({ref_of(apply_id)}) could not be removed: "
        f"{failure.message.splitlines()[0]}; `planner recover` removes it"
    )


def close(ctx: Context, apply_id: str) -> None:
    """Close the journal: moved to done/ locally, then its copy on the remote removed."""
    oid = ctx.journal.remote_oid
    ctx.journal.finish(apply_id)
    if oid is not None:
        retire(ctx, apply_id, oid)


def read_copies(repo: Repo, remote: Remote, found: Mapping[str, str]) -> list[RemoteCopy]:
    """The copies ``found`` ({apply id: commit}), fetched in ONE fetch, oldest apply first."""
    if not found:
        return []
    try:
        repo.run(
            [
                "fetch",
                Opt("--no-tags"),
                Opt("--quiet"),
                Opt("--prune"),
                remote.spec,
                f"+{JOURNAL_PREFIX}*:{LOCAL_PREFIX}*",
            ],
        )
    except GitError as exc:
        raise repo.remote_failure(remote, exc) from None
    # What was fetched, not what ls-remote saw: a copy may have been closed or updated since.
    fetched = {
        ref.removeprefix(LOCAL_PREFIX): oid
        for oid, _, ref in (
            line.partition(" ")
            for line in repo.text(["for-each-ref", Opt("--format=%(objectname) %(refname)"), LOCAL_PREFIX]).splitlines()
        )
    }
    ids = [a for a in sorted(found) if a in fetched]  # one not fetched was closed since ls-remote
    files = read_objects(repo, [f"{fetched[a]}:{FILE}" for a in ids])  # one git process for all
    out = []
    for apply_id in ids:
        oid = fetched[apply_id]
        obj = files.get(f"{oid}:{FILE}")
        try:
            data = json.loads(obj.data if obj is not None else b"")
            entries = list(data["entries"])
            blobs = {d: base64.b64decode(v, validate=True) for d, v in data["blobs"].items()}
            check_shape(entries, blobs, apply_id)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise PlannerError(
                f"{ref_of(apply_id)} on the remote is not a journal this planner can read ({exc}); "
                "nothing was changed: inspect it with `git fetch` and remove it by hand if it is not one"
            ) from None
        out.append(RemoteCopy(ref_of(apply_id), oid, entries, blobs, str(data.get("host", "?"))))
    return out


def _need(value: Any, kinds: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kinds):  # no field of a journal is a bool
        raise ValueError(f"{what} is missing or of the wrong type")
    return value


def check_shape(entries: list[Any], blobs: Mapping[str, bytes], apply_id: str) -> None:
    """Everything recover reads from a copy has the type it expects, before anything is written
    locally (ValueError otherwise): a copy comes from the remote, so it may be anything."""
    for e in entries:
        if not isinstance(e, dict) or e.get("point") not in POINTS or not isinstance(e.get("phase", 0), int | None):
            raise ValueError("an entry is not a journal entry")
    if not entries or entries[0]["point"] != "begin":
        raise ValueError("it does not start with a begin entry")
    intent = _need(entries[0].get("intent"), dict, "the intent")
    if intent.get("apply_id") != apply_id:
        raise ValueError("its begin entry is another apply's")
    _need(intent.get("ledger_before"), (str, type(None)), "ledger_before")
    _need(intent.get("marks", []), list, "marks")
    for p in _need(intent.get("phases"), list, "phases"):
        _need(p, dict, "a phase")
        for t in _need(p.get("tags"), list, "a phase's tags"):
            for name in ("ref", "new_commit", "message"):
                _need(t.get(name), str, f"a tag's {name}")
            _need(t.get("old"), (str, type(None)), "a tag's old value")
        for k in _need(p.get("kv"), list, "a phase's keys"):
            for name in ("namespace", "key", "blob", "new_sha256", "component", "slot"):
                _need(k.get(name), str, f"a key's {name}")
            _need(k.get("level"), int, "a key's level")
            _need(k.get("metadata"), dict, "a key's metadata")
            if k.get("phase") not in ("prepare", "project"):
                raise ValueError("a key's phase is neither prepare nor project")
            old = _need(k.get("old"), (dict, type(None)), "a key's old value")
            if "old_sha256" not in k:
                raise ValueError("a key has no old sha256")
            if (_need(k["old_sha256"], (str, type(None)), "a key's old sha256") is None) != (old is None):
                raise ValueError("a key's old sha256 does not agree with its old value")
            if old is not None and (old.get("blob") not in blobs or not isinstance(old.get("metadata"), dict)):
                raise ValueError("a key's old value is not in the copy")
        for v in _need(p.get("verifies"), list, "a phase's checks"):
            for name in ("step_id", "env", "url"):
                _need(v.get(name), str, f"a check's {name}")
            _need(v.get("expect"), int, "a check's status")
            _need(v.get("within"), (int, float, type(None)), "a check's time limit")
