"""Version-addressed KV keys shared between applies (``prompts/extraction@v1.2.0``).

Such a key holds immutable content: the same key always holds the same bytes (the file of that
version), so two applies creating or promoting the same version write the same key. An apply
that loses the push race must not delete, in its undo, a version key the winner needs. Rule:

- undo deletes a version key it created unless another apply has landed since ours began (the
  ledger moved) and a tag on the remote names that version; after deleting it re-reads the
  remote once: if that became true meanwhile, the key goes back (same key => same bytes, from our
  own git blob). With nobody else applying, undo is exact (all-old);
- after its push lands, an apply reads its version keys back and writes again any that are
  missing (a loser may have deleted one before our tag was visible).

Together these leave no window in which a version tag on the remote names a missing key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from planner.model import LEDGER_REF, TagName


def named_versions(remote_refs: Mapping[str, tuple[str, str]]) -> set[tuple[str, str]]:
    """(component, version) of every version tag on the remote."""
    out: set[tuple[str, str]] = set()
    for ref in remote_refs:
        tag = TagName.try_parse(ref)
        if tag is not None:
            out.add((str(tag.component), str(tag.slot)))
    return out


def deletes(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The version keys an undo of ``items`` would delete (they did not exist before)."""
    return [i for i in items if i["phase"] == "prepare" and not i["old"]]


def needed(
    items: Sequence[dict[str, Any]], remote_refs: Mapping[str, tuple[str, str]], ledger_before: str | None
) -> list[dict[str, Any]]:
    """Those of ``items`` another apply may need: some other apply landed since ours began (the
    ledger is not where we found it) and a version tag on the remote names their version."""
    if remote_refs.get(LEDGER_REF, (None, None))[0] == ledger_before:
        return []  # nobody else applied: the key is ours alone, undo deletes it (all-old)
    names = named_versions(remote_refs)
    return [i for i in items if (i["component"], i["slot"]) in names]
