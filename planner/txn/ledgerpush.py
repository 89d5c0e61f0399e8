"""The commit push with the ledger append retried: disjoint applies all land.

Every apply advances ``refs/planner/ledger`` in its atomic push, so two applies that touch
disjoint tags still race on that one ref. When a push is rejected ONLY because the ledger moved
(every tag lease still holds), nothing was changed: re-read the ledger tip, rebuild our ledger
commit on top of it and push again (bounded retries with jitter). A moved tag is a real conflict
and is raised at once (exit 5).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from planner.gitio import Remote, Repo
from planner.model import LEDGER_REF
from planner.state import read_remote_refs
from planner.txn import ledger
from planner.txn.errors import ConflictError
from planner.txn.push import OnStart, RefUpdate, atomic_push

RETRIES = 12  # rounds; every round one of the racing applies wins, so this bounds the queue
_BACKOFF = 0.05  # seconds; the jitter grows with the attempt so racers spread out


def push_with_ledger(
    repo: Repo,
    remote: Remote,
    tags: Sequence[RefUpdate],
    record: Mapping[str, Any],
    parent: str | None,
    before_push: Callable[[str, str | None], None],
    on_start: OnStart | None = None,
) -> tuple[str, str | None]:
    """ONE atomic push of ``tags`` plus the ledger commit of ``record`` on ``parent``; on a
    ledger-only rejection, rebuild on the new tip and retry. ``before_push(commit, parent)`` runs
    before each attempt (the journal entry). Returns (ledger commit, its parent)."""
    for attempt in range(RETRIES + 1):
        commit = ledger.build_commit(repo, record, parent)
        before_push(commit, parent)
        try:
            atomic_push(repo, remote, [*tags, RefUpdate(LEDGER_REF, parent, commit)], on_start=on_start)
            return commit, parent
        except ConflictError as exc:
            if set(exc.refs) != {LEDGER_REF} or attempt == RETRIES:
                raise
            time.sleep(random.uniform(0, _BACKOFF * (attempt + 1)))
            now = read_remote_refs(repo, remote)
            moved = {t.ref: now[t.ref][0] if t.ref in now else None for t in tags}
            moved = {ref: oid for ref, oid in moved.items() if oid != _old(tags, ref)}
            if moved:  # a tag moved meanwhile: a real conflict
                raise ConflictError.for_refs(moved, {t.ref: t.old for t in tags}) from exc
            parent = now.get(LEDGER_REF, (None, None))[0]
            ledger.fetch_ledger(repo, remote, parent)
    raise AssertionError("unreachable")


def _old(tags: Sequence[RefUpdate], ref: str) -> str | None:
    return next(t.old for t in tags if t.ref == ref)
