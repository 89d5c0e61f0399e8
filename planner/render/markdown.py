"""Markdown for a pull-request comment, with a hard size cap (GitHub refuses comments > 65,536).

Sections are filled in order of risk (planner.render.review): policy results, the per-environment
summary, notices, verify checks, every change (protected and last-stage environments first, each
change by name there; identical changes elsewhere grouped), step order, KV keys, and content diffs
with whatever room is left. What does not fit is counted in a closing note.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from planner.plan.changes import ComputedPlan, KVChange
from planner.plan.diff import ContentChange
from planner.render.common import short, summarize, visible
from planner.render.review import Group, RenderContext, env_rank, env_rows, groups, level_lines, violation_lines

MAX_CHARS = 60_000
_RESERVE = 1_500  # kept free for the "left out" summary
_DIFF_LINES = 400  # per component, so one huge file cannot crowd out the others
_GROUP_MIN = 5  # more identical changes than this are grouped behind one expandable line
# Names in one group and KV rows are capped so the content diffs get the room that is left.
_GROUP_NAMES = 100
_KV_ROWS = 100


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

    def items(self, section: str, lines: Sequence[str], head: str, tail: str = "", cap: int | None = None) -> None:
        """``head``, as many ``lines`` as fit (at most ``cap``), ``tail``; count what did not fit."""
        if not lines:
            return
        if cap is not None and len(lines) > cap:
            self.left_out[section] = self.left_out.get(section, 0) + len(lines) - cap
            lines = lines[:cap]
        if self.size + len(head) + len(tail) > self.limit or not self.add(head):
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


# Every string that comes from a plan (names, descriptions, URLs, keys, paths, file content) is
# hostile: it must not close a code span, fence or <details> block, open an HTML comment, start a
# heading or list, mention a user or fake the summary line. Three contexts, three escapes.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:@&=$\"'^])")


def md_text(text: str) -> str:
    """Inline Markdown text, one line: every Markdown/HTML-significant character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", visible(text))


def md_code(text: str, *, cell: bool = False) -> str:
    """A code span holding ``text`` literally (one line; a backtick run longer than any inside).

    In a table ``cell``, ``|`` becomes ``\\|``: GFM splits cells before it parses code spans."""
    text = visible(text)
    if cell:
        text = text.replace("|", "\\|")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def html_text(text: str) -> str:
    """Text inside raw HTML (a <summary>), one line: HTML-escaped, so it cannot end the element."""
    return html.escape(visible(text), quote=True)


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


def _change_lines(names_and_lines: Sequence[tuple[str, str]]) -> list[str]:
    width = max((len(n) for n, _ in names_and_lines), default=0)
    return [visible(f"{n.ljust(width)}  {line}") + "\n" for n, line in names_and_lines]


def _env_section(doc: _Doc, plan: ComputedPlan, ctx: RenderContext, env: str, groups: Sequence[Group]) -> None:
    """An environment's changes: every one by name when the environment is risky; otherwise
    small groups as lines and big groups of identical changes behind an expandable summary."""
    lines: list[tuple[str, str]] = []
    big: list[Group] = []
    for g in groups:
        if ctx.risky(env) or len(g.names) <= _GROUP_MIN:
            lines.extend(g.items)
        else:
            big.append(g)
    doc.add(f"**{md_text(ctx.label(env))}**\n\n")
    if lines:
        text = _change_lines(lines)
        fence = _fence("".join(text))
        doc.items(f"{env} changes" if env else "version tags", text, f"{fence}text\n", f"{fence}\n\n")
    for g in big:
        head = f"<details><summary>{html_text(g.head())}</summary>\n\n"
        names = [visible(n) + "\n" for n in g.names]
        fence = _fence("".join(names))
        doc.items(
            f"names in '{g.head()}'", names, f"{head}{fence}text\n", f"{fence}\n\n</details>\n\n", cap=_GROUP_NAMES
        )


def render_markdown(
    plan: ComputedPlan,
    changes: Sequence[ContentChange] = (),
    *,
    max_chars: int = MAX_CHARS,
    context: RenderContext | None = None,
) -> str:
    """Risk first: policy results, the per-environment summary, notices, verify checks, then every
    change (risky environments first, identical changes grouped), then step order, KV keys and
    content diffs with whatever room is left."""
    ctx = context or RenderContext()
    doc = _Doc(limit=max_chars - _RESERVE)
    s = summarize(plan)
    doc.add(f"### Release plan {md_code(plan.name)}\n\n**{s.line()}**\n\n")
    if plan.description:
        # Line breaks kept (hard breaks), everything else escaped: a description is prose, not markup.
        lines = visible(plan.description, newlines=True).splitlines()
        doc.add("  \n".join(_MD_SPECIAL.sub(r"\\\1", ln) for ln in lines if ln.strip()) + "\n\n")
    doc.add(
        f"Plan id {md_code(short(plan.plan_id))} · source {md_code(plan.source_file)} "
        f"(sha256 {md_code(short(plan.source_sha256))}) · remote {md_code(plan.remote)}\n\n"
    )
    blocked = [f"- **{md_text(p)}**: {md_text(m)}\n" for p, m in violation_lines(ctx.violations)]
    doc.items("policy results", blocked, "#### :no_entry: Blocked by policy\n\n", "\n")
    rows = [
        f"| {md_text(ctx.label(r.env))} | {r.creates} | {r.moves} | {r.in_place} | {r.kv_writes} | {r.verifies} |\n"
        for r in env_rows(plan, ctx)
    ]
    doc.items(
        "environment rows",
        rows,
        "#### Environments\n\n| environment | create | move | in place | KV writes | verify |\n|---|---|---|---|---|---|\n",
        "\n",
    )
    notices = [f"- :warning: **{md_text(n.kind)}**: {md_text(n.message)}\n" for n in plan.notices]
    doc.items("notices", notices, "#### Notices\n\n", "\n")
    verify = [f"- {md_code(v.env)}: GET {md_code(v.url)} expect {md_text(str(v.expect))}\n" for v in plan.verifies]
    doc.items("verify checks", verify, "#### Verify\n\n", "\n")
    by_env: dict[str, list[Group]] = {}
    for g in groups(plan, ctx):
        by_env.setdefault(g.env, []).append(g)
    if by_env:
        doc.add("#### Changes\n\n")
        for env, env_groups in by_env.items():
            _env_section(doc, plan, ctx, env, env_groups)
    order = [f"{i + 1}. {md_text(line)}\n" for i, line in enumerate(level_lines(plan))]
    if len(order) > 1:  # one level says nothing about order
        doc.items("step levels", order, "<details><summary>Step order</summary>\n\n", "\n</details>\n\n")
    kv_rows = [
        f"| {md_text(k.namespace)} | {md_text(k.phase)} | {md_code(k.key, cell=True)} | {md_code(short(k.old_sha256), cell=True)} | "
        f"{_kv_new(k)} | {md_text(str(k.size))} |\n"
        for k in sorted(plan.kv, key=lambda k: env_rank(ctx, k.namespace))
    ]
    doc.items(
        "KV rows",
        kv_rows,
        f"<details><summary>KV: {len(plan.kv)} keys</summary>\n\n"
        "| namespace | phase | key | old | new | bytes |\n|---|---|---|---|---|---|\n",
        "\n</details>\n\n",
        cap=_KV_ROWS,
    )
    ordered_changes = sorted(changes, key=lambda ch: env_rank(ctx, ch.env))
    heading = "#### Content changes\n\n"  # added with the first diff that fits, never alone
    for i, ch in enumerate(ordered_changes):
        body = visible(content_diff(ch), newlines=True)
        old_v, new_v = html_text(ch.old_version or "(none)"), html_text(ch.new_version or "(none)")
        label = f"{html_text(ch.component)}  {html_text(ch.env)}: {old_v} -> {new_v}"
        if _is_binary(ch.old) or _is_binary(ch.new):
            block = f"<details><summary>{label}</summary>\n\n{md_text(body)}\n\n</details>\n\n"
        else:
            fence = _fence(body)
            block = f"<details><summary>{label}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n"
        if not doc.add(heading + block):
            doc.left_out["content diffs"] = len(ordered_changes) - i
            break
        heading = ""
    if doc.left_out:
        what = ", ".join(f"{n} {md_text(name)}" for name, n in doc.left_out.items())
        doc.parts.append(
            f"> **Output truncated** to stay under {max_chars:,} characters: left out {what}. "
            "Run `planner show plan.json` for the full plan.\n"
        )
    return "".join(doc.parts)


def _kv_new(k: KVChange) -> str:
    """The KV table's new-value cell: unchanged, the same bytes with new metadata, or the new hash."""
    if k.unchanged:
        return "unchanged"
    if k.old_sha256 == k.new_sha256:
        return "same content, new metadata"
    return md_code(short(k.new_sha256), cell=True)
