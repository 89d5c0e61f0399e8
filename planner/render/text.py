"""Terminal rendering: color only when writing to a TTY and NO_COLOR is not set."""

from __future__ import annotations

import os
from typing import TextIO

from planner.plan.changes import ComputedPlan
from planner.render.common import component_of, short, summarize, visible
from planner.render.review import EnvRow, RenderContext, env_rank, env_rows, groups, level_lines, violation_lines

_GROUP_MIN = 5  # as in the markdown: more identical changes than this are listed under one heading

_CODES = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}
_MARK = {"create": ("+", "green"), "move": ("~", "yellow"), "noop": ("=", "dim")}


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):  # no-color.org: any non-empty value disables color
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _counts(r: EnvRow) -> str:
    parts = [
        f"{r.creates} to create" if r.creates else "",
        f"{r.moves} to move" if r.moves else "",
        f"{r.in_place} in place" if r.in_place else "",
        f"{r.kv_writes} KV write{'s' if r.kv_writes != 1 else ''}" if r.kv_writes else "",
        f"{r.kv_unchanged} KV unchanged" if r.kv_unchanged else "",
        f"{r.verifies} verify check{'s' if r.verifies != 1 else ''}" if r.verifies else "",
    ]
    return ", ".join(p for p in parts if p)


def render_text(plan: ComputedPlan, *, color: bool = False, context: RenderContext | None = None) -> str:
    """The same risk order as the markdown comment (planner.render.review), never truncated."""
    ctx = context or RenderContext()
    # Every string from the plan is hostile: ``v`` makes its control characters visible before
    # any of our own escape codes are added.
    v = visible

    def c(text: str, style: str) -> str:
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m" if color else text

    out: list[str] = []
    out.append(c(f'Plan "{v(plan.name)}"', "bold") + f"  id {v(short(plan.plan_id))}")
    if plan.description:
        # Continuation lines stay indented, so a description cannot pass for the plan's own lines.
        out.append("  " + visible(plan.description, newlines=True).replace("\n", "\n  "))
    out.append(f"  source {v(plan.source_file)} (sha256 {v(short(plan.source_sha256))}), remote {v(plan.remote)}")
    if ctx.violations:
        out.append("")
        out.append(c("Blocked by policy", "bold"))
        out.extend(c(f"  x {v(p)}: {v(m)}", "red") for p, m in violation_lines(ctx.violations))
    rows = env_rows(plan, ctx)
    if rows:
        out.append("")
        out.append(c("Environments", "bold"))
        width = max(len(ctx.label(r.env)) for r in rows)
        out.extend(f"  {v(ctx.label(r.env).ljust(width))}  {_counts(r)}" for r in rows)
    if plan.notices:
        out.append("")
        out.append(c("Notices", "bold"))
        for n in plan.notices:
            out.append(c(f"  ! {v(n.kind)}: {v(n.message)}", "red" if n.kind == "needs-rebuild" else "yellow"))
    if plan.verifies:
        out.append("")
        out.append(c("Verify", "bold"))
        out.extend(f"  ? {v(x.env)}: GET {v(x.url)} expect {x.expect}" for x in plan.verifies)
    out.append("")
    out.append(c("Tags", "bold"))
    if not plan.tags:
        out.append("  (none)")
    width = max((len(component_of(t)) for t in plan.tags), default=0)
    for g in groups(plan, ctx):
        mark, style = _MARK.get(g.action, ("?", "red"))
        if ctx.risky(g.env) or len(g.items) <= _GROUP_MIN:
            out.extend(c(f"  {mark} {v(name.ljust(width))}  {v(line)}", style) for name, line in g.items)
        else:
            out.append(c(f"  {mark} {v(g.head())}", style))
            out.extend(f"      {v(name)}" for name in g.names)
    out.append("")
    out.append(c("KV", "bold"))
    if not plan.kv:
        out.append("  (no KV writes)")
    for ns in sorted(dict.fromkeys(k.namespace for k in plan.kv), key=lambda e: env_rank(ctx, e)):
        out.append(f"  {v(ns)}:")
        for k in (k for k in plan.kv if k.namespace == ns):
            if k.unchanged:
                out.append(c(f"    = {v(k.key)}  unchanged ({k.size} bytes)", "dim"))
            elif k.old_sha256 == k.new_sha256:
                line = f"    ~ {v(k.key)}  same content, new metadata ({k.size} bytes, {v(k.phase)})"
                out.append(c(line, "yellow"))
            else:
                mark, style = ("+", "green") if k.old_sha256 is None else ("~", "yellow")
                line = (
                    f"    {mark} {v(k.key)}  {v(short(k.old_sha256))} -> {v(short(k.new_sha256))} "
                    f"({k.size} bytes, {v(k.phase)})"
                )
                out.append(c(line, style))
    levels = level_lines(plan)
    if len(levels) > 1:  # one level says nothing about order
        out.append("")
        out.append(c("Step order", "bold"))
        out.extend(f"  {i + 1}. {v(line)}" for i, line in enumerate(levels))
    out.append("")
    out.append(c(summarize(plan).line(), "bold"))
    return "\n".join(out) + "\n"
