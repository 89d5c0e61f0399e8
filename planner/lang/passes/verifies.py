"""``verify ENV get "URL" expect STATUS [within D]``: HTTP checks, run after every move into ENV."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from planner.lang import ast
from planner.lang.passes.names import env
from planner.lang.scope import Scope
from planner.steps import Verify

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def resolve_verifies(ctx: Scope) -> None:
    """Pass: verify statements -> Verify steps (numbered in statement order, for unique ids)."""
    for i, s in enumerate(ctx.stmts):
        if not isinstance(s, ast.VerifyStmt):
            continue
        name = env(ctx, s.env)
        url_ok = _check_url(ctx, s.url)
        status = int(s.status.text) if s.status.text.isdigit() and len(s.status.text) <= 3 else 0
        if not 100 <= status <= 599:
            ctx.sink.error(f"invalid HTTP status '{s.status.text}': expected a number from 100 to 599", s.status.span)
        within = _duration(ctx, s.within) if s.within is not None else None
        if name is None or not url_ok or not 100 <= status <= 599 or (s.within is not None and within is None):
            continue
        vstep = Verify(name, s.url.text, status, within, len(ctx.verifies), s.span)
        ctx.verifies.append(vstep)
        ctx.steps.append(vstep)
        ctx.stmt_steps[i].append(vstep.id)


def _check_url(ctx: Scope, w: ast.Word) -> bool:
    try:
        parts = urlsplit(w.text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        ctx.sink.error(f"verify URL must be an http:// or https:// URL with a host, got '{w.text}'", w.span)
    return ok


def _duration(ctx: Scope, w: ast.Word) -> float | None:
    m = _DURATION.match(w.text)
    seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    if seconds <= 0:
        ctx.sink.error(f"invalid duration '{w.text}': expected a positive number with ms, s, m or h", w.span)
        return None
    return seconds
