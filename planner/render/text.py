"""Terminal rendering: color only when writing to a TTY and NO_COLOR is not set."""

from __future__ import annotations

import os
from typing import TextIO

from planner.changes import ComputedPlan
from planner.render.common import component_of, short, summarize, tag_line

_CODES = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}
_MARK = {"create": ("+", "green"), "move": ("~", "yellow"), "noop": ("=", "dim")}


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):  # no-color.org: any non-empty value disables color
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(plan: ComputedPlan, *, color: bool = False) -> str:
    def c(text: str, style: str) -> str:
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m" if color else text

    out: list[str] = []
    out.append(c(f'Plan "{plan.name}"', "bold") + f"  id {short(plan.plan_id)}")
    if plan.description:
        out.append(f"  {plan.description}")
    out.append(f"  source {plan.source_file} (sha256 {short(plan.source_sha256)}), remote {plan.remote}")
    out.append("")
    out.append(c("Tags", "bold"))
    if not plan.tags:
        out.append("  (none)")
    width = max((len(component_of(t)) for t in plan.tags), default=0)
    for t in plan.tags:
        mark, style = _MARK[t.action]
        out.append(c(f"  {mark} {component_of(t).ljust(width)}  {tag_line(t)}", style))
    out.append("")
    out.append(c("KV", "bold"))
    if not plan.kv:
        out.append("  (no KV writes)")
    for ns in dict.fromkeys(k.namespace for k in plan.kv):  # namespaces in step order
        out.append(f"  {ns}:")
        for k in (k for k in plan.kv if k.namespace == ns):
            if k.unchanged:
                out.append(c(f"    = {k.key}  unchanged ({k.size} bytes)", "dim"))
            else:
                mark, style = ("+", "green") if k.old_sha256 is None else ("~", "yellow")
                line = f"    {mark} {k.key}  {short(k.old_sha256)} -> {short(k.new_sha256)} ({k.size} bytes, {k.phase})"
                out.append(c(line, style))
    if plan.verifies:
        out.append("")
        out.append(c("Verify", "bold"))
        out.extend(f"  ? {v.env}: GET {v.url} expect {v.expect}" for v in plan.verifies)
    if plan.notices:
        out.append("")
        out.append(c("Notices", "bold"))
        for n in plan.notices:
            out.append(c(f"  ! {n.kind}: {n.message}", "red" if n.kind == "needs-rebuild" else "yellow"))
    out.append("")
    out.append(c("Step order", "bold"))
    for i, level in enumerate(plan.levels):
        out.append(f"  {i + 1}. " + ", ".join(level))
    out.append("")
    out.append(c(summarize(plan).line(), "bold"))
    return "\n".join(out) + "\n"
