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
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planner.errors import PlannerError
from planner.gitio import GitError, Opt, Remote, Repo
from planner.model import JOURNAL_PREFIX
from planner.txn import ledger
from planner.txn.commit import journal_push
from planner.txn.context import Context
from planner.txn.push import OnStart, RefUpdate, atomic_push

FILE = "journal.json"
LOCAL_PREFIX = "refs/planner/remote-journal/"  # local copies of the remote's, for reading
_APPLY_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")  # engine.apply_plan's ids; anything else is not ours


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
        apply_id = ref.removeprefix(JOURNAL_PREFIX)
        if ref.startswith(JOURNAL_PREFIX) and _APPLY_ID.match(apply_id):
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
    is closed, and a copy left behind is closed by the next ``planner recover``."""
    try:
        atomic_push(ctx.repo, ctx.remote, [RefUpdate(ref_of(apply_id), oid, None)])
    except PlannerError as exc:
        ctx.progress(
            f"warning: the journal's copy on the remote ({ref_of(apply_id)}) could not be removed: "
            f"{exc.message.splitlines()[0]}; `planner recover` removes it"
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
    out = []
    for apply_id in sorted(found):
        oid = found[apply_id]
        text = repo.run(["cat-file", "blob", f"{oid}:{FILE}"], check=False).stdout
        try:
            data = json.loads(text)
            entries = list(data["entries"])
            blobs = {d: base64.b64decode(v) for d, v in data["blobs"].items()}
            if entries[0]["point"] != "begin" or entries[0]["intent"]["apply_id"] != apply_id:
                raise ValueError("does not start with this apply's begin entry")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PlannerError(
                f"{ref_of(apply_id)} on the remote is not a journal this planner can read ({exc}); "
                "nothing was changed: inspect it with `git fetch` and remove it by hand if it is not one"
            ) from None
        out.append(RemoteCopy(ref_of(apply_id), oid, entries, blobs, str(data.get("host", "?"))))
    return out
