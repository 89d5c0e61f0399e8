"""One comment per pull request, found by a hidden marker AND by its author being this token's own
identity: anyone can paste the marker into a comment, so a marker alone identifies nothing.

The comment is for people only: the apply on main reads nothing from it (planner.github.reconcile
recomputes every plan from the merged plan file), so shortening it to GitHub's body limit loses
nothing a later step needs. The full text is in the job summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from planner.github.rest import GitHub, Identity

BODY_LIMIT = 65_536  # GitHub's maximum comment body, in characters
PR_MARKER = "<!-- release-planner:plan -->"
APPLY_MARKER = "<!-- release-planner:apply -->"


@dataclass(frozen=True)
class Section:
    title: str
    full: str  # the whole markdown
    short: str  # what is shown when the full text does not fit


def fit(marker: str, heading: str, sections: Sequence[Section], footer: str, limit: int = BODY_LIMIT) -> str:
    """The comment body: every section in full if it fits, else sections shortened from the
    largest down, else cut hard (with the footer kept); never over ``limit``."""
    chosen = [s.full for s in sections]

    def body() -> str:
        return "\n\n".join([marker, heading, *chosen, footer]).rstrip() + "\n"

    order = sorted(range(len(sections)), key=lambda i: -len(sections[i].full))
    for i in order:
        if len(body()) <= limit:
            break
        chosen[i] = sections[i].short
    text = body()
    if len(text) > limit:
        tail = f"\n\n(shortened to GitHub's comment limit)\n\n{footer}\n"
        text = text[: limit - len(tail)] + tail
    return text


def is_mine(comment: dict[str, Any], me: Identity, marker: str) -> bool:
    user = comment.get("user") or {}
    if marker not in str(comment.get("body") or ""):
        return False
    if me.id is not None:
        return user.get("id") == me.id and user.get("login") == me.login
    return user.get("login") == me.login and user.get("type") == "Bot"


def upsert(gh: GitHub, owner: str, repo: str, number: int, me: Identity, marker: str, body: str) -> dict[str, Any]:
    """Update our comment in place (the oldest of ours, if several), else create it."""
    mine = [c for c in gh.issue_comments(owner, repo, number) if is_mine(c, me, marker)]
    if mine:
        return gh.update_comment(owner, repo, int(mine[0]["id"]), body)
    return gh.create_comment(owner, repo, number, body)
