"""Terminal rendering: color only when writing to a TTY and NO_COLOR is not set."""

from __future__ import annotations

import os
from typing import TextIO

from planner.changes import ComputedPlan
from planner.render.common import component_of, short, summarize, tag_line, visible

_CODES = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}
_MARK = {"create": ("+", "green"), "move": ("~", "yellow"), "noop": ("=", "dim")}


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):  # no-color.org: any non-empty value disables color
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(plan: ComputedPlan, *, color: bool = False) -> str:
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
    out.append("")
    out.append(c("Tags", "bold"))
    if not plan.tags:
        out.append("  (none)")
    width = max((len(component_of(t)) for t in plan.tags), default=0)
    for t in plan.tags:
        mark, style = _MARK.get(t.action, ("?", "red"))
        out.append(c(f"  {mark} {v(component_of(t).ljust(width))}  {v(tag_line(t))}", style))
    out.append("")
    out.append(c("KV", "bold"))
    if not plan.kv:
        out.append("  (no KV writes)")
    for ns in dict.fromkeys(k.namespace for k in plan.kv):  # namespaces in step order
        out.append(f"  {v(ns)}:")
        for k in (k for k in plan.kv if k.namespace == ns):
            if k.unchanged:
                out.append(c(f"    = {v(k.key)}  unchanged ({k.size} bytes)", "dim"))
            else:
                mark, style = ("+", "green") if k.old_sha256 is None else ("~", "yellow")
                line = (
                    f"    {mark} {v(k.key)}  {v(short(k.old_sha256))} -> {v(short(k.new_sha256))} "
                    f"({k.size} bytes, {v(k.phase)})"
                )
                out.append(c(line, style))
    if plan.verifies:
        out.append("")
        out.append(c("Verify", "bold"))
        out.extend(f"  ? {v(x.env)}: GET {v(x.url)} expect {x.expect}" for x in plan.verifies)
    if plan.notices:
        out.append("")
        out.append(c("Notices", "bold"))
        for n in plan.notices:
            out.append(c(f"  ! {v(n.kind)}: {v(n.message)}", "red" if n.kind == "needs-rebuild" else "yellow"))
    out.append("")
    out.append(c("Step order", "bold"))
    for i, level in enumerate(plan.levels):
        out.append(f"  {i + 1}. " + ", ".join(v(sid) for sid in level))
    out.append("")
    out.append(c(summarize(plan).line(), "bold"))
    return "\n".join(out) + "\n"
