"""Shared wording for the renderers, so text and markdown describe a change the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.model import TagName
from planner.plan.changes import ComputedPlan, TagChange


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


@dataclass(frozen=True)
class Summary:
    creates: int
    moves: int
    in_place: int
    kv_writes: int
    kv_unchanged: int
    verifies: int
    rebuilds: int

    def line(self) -> str:
        if not (self.creates or self.moves or self.kv_writes):
            # Nothing would be pushed or written: say what is already right, not "0 to ...".
            done = [_n(self.in_place, "tag") + " already in place"] if self.in_place else []
            if self.kv_unchanged:
                done.append(_n(self.kv_unchanged, "KV key") + " already up to date")
            parts = ["No changes" + (": " + ", ".join(done) if done else "")]
        else:
            head = f"{self.creates} to create, {self.moves} to move"
            parts = [
                head,
                f"{self.in_place} in place",
                f"{_n(self.kv_writes, 'KV write')} ({self.kv_unchanged} unchanged)",
            ]
        if self.verifies:
            parts.append(_n(self.verifies, "verify check"))
        if self.rebuilds:
            parts.append(_n(self.rebuilds, "component needs", "components need") + " a rebuild")
        return ", ".join(parts) + "."


def summarize(plan: ComputedPlan) -> Summary:
    return Summary(
        creates=sum(t.action == "create" for t in plan.tags),
        moves=sum(t.action == "move" for t in plan.tags),
        in_place=sum(t.action == "noop" for t in plan.tags),
        kv_writes=sum(not k.unchanged for k in plan.kv),
        kv_unchanged=sum(k.unchanged for k in plan.kv),
        verifies=len(plan.verifies),
        rebuilds=sum(n.kind == "needs-rebuild" for n in plan.notices),
    )


def short(oid: str | None) -> str:
    """Object ids and plan ids in human output: always 12 hex digits (planner.artifact.SHORT_ID)."""
    return oid[:12] if oid else "(none)"


def component_of(t: TagChange) -> str:
    """The component as the plan writes it (``prompts/extraction``, ``scripts/router``): one
    spelling in every output, never the ref's ``components/``/``logic/`` prefix."""
    tag = TagName.try_parse(t.ref)
    return str(tag.component) if tag else t.ref


def tag_line(t: TagChange) -> str:
    """``staging: v1.0.0 -> v1.1.0`` / ``create v1.1.0 at 1a2b3c4d5e6f`` / ``production: v1.0.0 (in place)``."""
    tag = TagName.try_parse(t.ref)
    slot = str(tag.slot) if tag else t.ref
    new = t.new_version or short(t.new_commit)
    if tag is not None and tag.is_version:
        if t.action == "noop":
            return f"{slot} exists at {short(t.new_commit)} (in place, not pushed)"
        return f"create {slot} at {short(t.new_commit)}"
    if t.action == "noop":
        return f"{slot}: {new} (in place, not pushed)"
    old = t.old_version or (short(t.old_commit) if t.old_commit else "(none)")
    return f"{slot}: {old} -> {new}"


# C0 and C1 controls (but newline and tab), DEL, and the bidi overrides/isolates that reorder text
# ("Trojan Source"): shown as escapes so a plan cannot clear a terminal, retitle it, or hide text.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape_control(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters as visible escapes; newlines kept only when asked
    (otherwise ``\\n``), tabs kept, so one user-supplied field stays on one output line."""
    text = _CONTROL_RE.sub(_escape_control, text)
    if not newlines:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text
