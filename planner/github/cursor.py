"""Where the reconcile on main has got to: ``refs/planner/reconcile`` on the remote.

A commit chain like the ledger's (planner.txn.ledger): each commit's tree holds ``reconcile.json``
with the first-parent commit of main being worked through (``main``), the plan files of that
commit already handled (``paths``), the ledger tip when it was written (``ledger``) and what
happened to the last plan (``last``). It is advanced after every plan with an expected-value
check (one atomic push), so two reconciles never both take the same plan, and it lives on the
remote, so it outlives every runner: a cancelled or killed run is continued by the next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from planner.gitio import Opt, Remote, Repo
from planner.txn.ledger import record_commit
from planner.txn.push import RefUpdate, atomic_push

CURSOR_REF = "refs/planner/reconcile"
LOCAL_CURSOR = "refs/planner/remote-reconcile"
FILE = "reconcile.json"


@dataclass(frozen=True)
class Cursor:
    commit: str | None  # the cursor ref's commit on the remote (the lease); None: never written
    main: str | None = None  # the main commit being worked through (None: start of history)
    paths: tuple[str, ...] = ()  # its plan files already handled
    ledger: str | None = None  # refs/planner/ledger when written
    last: dict[str, Any] = field(default_factory=dict)


def read(repo: Repo, remote: Remote) -> Cursor:
    listed = repo.ls_remote(remote, [CURSOR_REF]).get(CURSOR_REF)  # a failure is one sentence (GitError)
    if listed is None:
        return Cursor(None)
    commit = listed[0]
    repo.run(["fetch", Opt("--no-tags"), Opt("--quiet"), remote.spec, f"+{CURSOR_REF}:{LOCAL_CURSOR}"])
    data = json.loads(repo.text(["cat-file", "blob", f"{commit}:{FILE}"]))
    return Cursor(commit, data.get("main"), tuple(data.get("paths", ())), data.get("ledger"), data.get("last", {}))


def advance(
    repo: Repo,
    remote: Remote,
    cur: Cursor,
    *,
    main: str,
    paths: tuple[str, ...],
    ledger: str | None,
    last: dict[str, Any],
) -> Cursor:
    """Write the next state on top of ``cur``; ConflictError if another run moved it meanwhile."""
    record = {"format": 1, "main": main, "paths": list(paths), "ledger": ledger, "last": last}
    msg = f"reconcile {main[:12]} {' '.join(paths)}\n"
    commit = record_commit(repo, record, FILE, msg, cur.commit)
    atomic_push(repo, remote, [RefUpdate(CURSOR_REF, cur.commit, commit)])
    return Cursor(commit, main, paths, ledger, last)
