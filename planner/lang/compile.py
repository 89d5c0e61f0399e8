"""The language pipeline: parse -> build -> resolve -> order. Raises DiagnosticError on errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from planner.collector import collector_paused
from planner.errors import Diagnostic, DiagnosticError, Span
from planner.fileio import decode_utf8
from planner.graph import CycleError, order_steps
from planner.lang.parser import parse_plan
from planner.lang.resolve import resolve
from planner.lang.scope import Inputs
from planner.steps import OrderedPlan

__all__ = ["Inputs", "compile_file", "compile_text"]


def compile_text(text: str, filename: str, inputs: Inputs) -> OrderedPlan:
    """Compile plan source into ordered steps; every error of the file in one DiagnosticError."""
    with collector_paused():  # one pause for the whole compile: each resume pays one collection of the heap
        return _compile(text, filename, inputs)


def _compile(text: str, filename: str, inputs: Inputs) -> OrderedPlan:
    sources = {filename: text}
    plan = parse_plan(text, filename)  # parse + build, no intermediate tree
    res = resolve(plan, inputs)
    diags = sorted(res.diagnostics, key=_position)
    if any(d.severity == "error" for d in diags):
        raise DiagnosticError(diags, sources)
    by_id = {s.id: s for s in res.steps}
    try:
        levels = order_steps(list(by_id), res.edges)
    except CycleError as exc:
        notes = tuple(f"{sid} at {by_id[sid].span}" for sid in exc.cycle[:-1])
        first = by_id[exc.cycle[0]].span
        raise DiagnosticError([Diagnostic("error", exc.message, first, notes), *diags], sources) from None
    return OrderedPlan(
        name=plan.name.text,
        description=plan.description.text if plan.description else "",
        source_file=filename,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        steps=tuple(by_id[sid] for level in levels for sid in level),
        levels=levels,
        diagnostics=tuple(diags),
        edges=tuple(sorted(res.edges)),
        marks=res.marks,
        new_environments=res.new_envs,
    )


def read_plan(path: Path | str) -> str:
    """A plan file's text; a missing, unreadable or non-UTF-8 file is a positioned diagnostic."""
    name = str(path)
    try:
        return decode_utf8(name, Path(path).read_bytes())  # positioned non-UTF-8 error; drops a BOM
    except FileNotFoundError:
        raise DiagnosticError([Diagnostic("error", "no such plan file", Span(name, 1, 1))]) from None
    except OSError as exc:
        raise DiagnosticError(
            [Diagnostic("error", f"cannot read plan file: {exc.strerror}", Span(name, 1, 1))]
        ) from None


def compile_file(path: Path | str, inputs: Inputs) -> OrderedPlan:
    """Read and compile a plan file (named in diagnostics as given)."""
    return compile_text(read_plan(path), str(path), inputs)


def _position(d: Diagnostic) -> tuple[int, int, int]:
    if d.span is None:
        return (0, 0, 0)
    return (d.span.line, d.span.column, 0 if d.severity == "error" else 1)
