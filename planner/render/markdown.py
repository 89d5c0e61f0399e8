"""Markdown for a pull-request comment, with a hard size cap (GitHub refuses comments > 65,536).

Sections are filled in order of importance (summary, moves, notices, verify, step order, KV,
content diffs); once the budget is spent, the rest is counted and summarised at the end.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from planner.changes import ComputedPlan
from planner.diff import ContentChange
from planner.render.common import component_of, short, summarize, tag_line

MAX_CHARS = 60_000
_RESERVE = 1_500  # kept free for the "left out" summary
_DIFF_LINES = 400  # per component, so one huge file cannot crowd out the others


@dataclass
class _Doc:
    limit: int
    parts: list[str] = field(default_factory=list)
    size: int = 0
    left_out: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> bool:
        if self.size + len(text) > self.limit:
            return False
        self.parts.append(text)
        self.size += len(text)
        return True

    def items(self, section: str, lines: Sequence[str], head: str, tail: str = "") -> None:
        """``head``, as many ``lines`` as fit, ``tail``; count what did not fit."""
        if not lines:
            return
        if not self.add(head):
            self.left_out[section] = self.left_out.get(section, 0) + len(lines)
            return
        room = self.limit - self.size - len(tail)
        taken = 0
        for line in lines:
            if len(line) > room:
                break
            self.parts.append(line)
            self.size += len(line)
            room -= len(line)
            taken += 1
        if taken < len(lines):
            self.left_out[section] = self.left_out.get(section, 0) + len(lines) - taken
        self.parts.append(tail)
        self.size += len(tail)


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _is_binary(data: bytes | None) -> bool:
    if data is None:
        return False
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def content_diff(change: ContentChange) -> str:
    """A unified diff of a text change, or a one-line note for binary content."""
    if _is_binary(change.old) or _is_binary(change.new):
        return f"binary content changed, {len(change.new)} bytes"
    old = (change.old or b"").decode("utf-8").splitlines(keepends=True)
    new = change.new.decode("utf-8").splitlines(keepends=True)
    a = f"a/{change.old_path}@{change.old_version}" if change.old_path else "/dev/null"
    b = f"b/{change.new_path}@{change.new_version or change.env}"
    lines = [
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n"
        for ln in difflib.unified_diff(old, new, a, b)
    ]
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... {len(lines) - _DIFF_LINES} more diff lines left out\n"]
    return "".join(lines)


def render_markdown(plan: ComputedPlan, changes: Sequence[ContentChange] = (), *, max_chars: int = MAX_CHARS) -> str:
    doc = _Doc(limit=max_chars - _RESERVE)
    s = summarize(plan)
    doc.add(f"### Release plan `{plan.name}`\n\n**{s.line()}**\n\n")
    if plan.description:
        doc.add(f"{plan.description}\n\n")
    doc.add(
        f"Plan id `{short(plan.plan_id)}` · source `{plan.source_file}` (sha256 `{short(plan.source_sha256)}`) "
        f"· remote `{plan.remote}`\n\n"
    )
    width = max((len(component_of(t)) for t in plan.tags), default=0)
    moves = [f"{component_of(t).ljust(width)}  {tag_line(t)}\n" for t in plan.tags]
    doc.items("tag lines", moves, "#### Tags\n\n```text\n", "```\n\n")
    rebuild = [f"- :warning: **{n.kind}**: {n.message}\n" for n in plan.notices]
    doc.items("notices", rebuild, "#### Notices\n\n", "\n")
    verify = [f"- `{v.env}`: GET {v.url} expect {v.expect}\n" for v in plan.verifies]
    doc.items("verify checks", verify, "#### Verify\n\n", "\n")
    order = [f"{i + 1}. " + ", ".join(f"`{sid}`" for sid in level) + "\n" for i, level in enumerate(plan.levels)]
    doc.items("step levels", order, "#### Step order\n\n", "\n")
    kv_rows = [
        f"| {k.namespace} | {k.phase} | `{k.key.replace('|', '%7C')}` | `{short(k.old_sha256)}` | "
        f"{'unchanged' if k.unchanged else '`' + short(k.new_sha256) + '`'} | {k.size} |\n"
        for k in plan.kv
    ]
    doc.items(
        "KV rows",
        kv_rows,
        "#### KV\n\n| namespace | phase | key | old | new | bytes |\n|---|---|---|---|---|---|\n",
        "\n",
    )
    if changes and doc.add("#### Content changes\n\n"):
        for i, ch in enumerate(changes):
            body = content_diff(ch)
            label = f"{ch.component}  {ch.env}: {ch.old_version or '(none)'} -> {ch.new_version or '(none)'}"
            if body.startswith("binary"):
                block = f"<details><summary>{label}</summary>\n\n{body}\n\n</details>\n\n"
            else:
                fence = _fence(body)
                block = f"<details><summary>{label}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n"
            if not doc.add(block):
                doc.left_out["content diffs"] = len(changes) - i
                break
    elif changes:
        doc.left_out["content diffs"] = len(changes)
    if doc.left_out:
        what = ", ".join(f"{n} {name}" for name, n in doc.left_out.items())
        doc.parts.append(
            f"> **Output truncated** to stay under {max_chars:,} characters: left out {what}. "
            "Run `planner show plan.json` for the full plan.\n"
        )
    return "".join(doc.parts)
