"""The compensating push of an undo: this apply's landed tags back, its ledger records removed.

What landed is read from the ledger (``planner.txn.ledgerview``), never inferred from tag
objects alone (another apply may have pushed byte-identical ones). The ledger update carries a
lease on the tip as read; when only the ledger moved (another apply appended), the view is read
again and the push retried, as for the commit push (``planner.txn.ledgerpush``). A tag someone
else moved after our push landed is a real conflict: the live apply stops (exit 6, journal
kept); ``planner recover`` (``abandon_moved``) leaves such tags to whoever moved them, undoes
the rest and closes, so every journal reaches a final state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from planner.gitio import Remote, Repo
from planner.model import LEDGER_REF
from planner.txn import ledgerview
from planner.txn.errors import ConflictError, PartialApplyError
from planner.txn.ledgerpush import RETRIES
from planner.txn.push import OnStart, RefUpdate, atomic_push


@dataclass
class MovedBack:
    pushes: int = 0
    abandoned: set[str] = field(default_factory=set)  # refs left to whoever moved them since


def move_back(
    repo: Repo,
    remote: Remote,
    intent: Mapping[str, Any],
    progress: Callable[[str], None],
    *,
    abandon_moved: bool,
    on_start: OnStart | None = None,
) -> MovedBack:
    """ONE atomic push per attempt. The refs to move back are those the ledger records for this
    apply, so no journal entry after ``begin`` is needed (a journal adopted from the remote has none)."""
    apply_id = intent["apply_id"]
    out = MovedBack()
    for attempt in range(RETRIES + 1):
        view = ledgerview.read_view(repo, remote, intent["ledger_before"])
        mine = view.phases_of(apply_id)
        if not mine:
            return out  # none of our pushes is on the remote: nothing to move back
        landed = view.moves_of(apply_id)
        updates = [RefUpdate(ref, m["after"], m["before"]) for ref, m in landed.items() if ref not in out.abandoned]
        updates.append(RefUpdate(LEDGER_REF, view.tip, ledgerview.without(repo, view, apply_id)))
        progress(f"compensate: moving {len(updates) - 1} tag(s) back in one atomic push")
        out.pushes += 1
        try:
            atomic_push(repo, remote, updates, on_start=on_start)
            return out
        except ConflictError as exc:
            tags = {ref for ref in exc.refs if ref != LEDGER_REF}
            if attempt == RETRIES or (tags and not abandon_moved):
                raise PartialApplyError(
                    "compensation failed: tags could not be moved back because someone else moved them "
                    f"({', '.join(sorted(exc.refs))}); the journal is kept: run `planner recover`"
                ) from exc
            if tags:
                progress(f"compensate: {len(tags)} tag(s) were moved by someone else since; leaving them")
                out.abandoned |= tags
            else:
                time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
    raise AssertionError("unreachable")
