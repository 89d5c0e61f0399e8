"""The error root, source positions and compiler-style diagnostics.

Every stage raises a subclass of :class:`PlannerError` defined next to that stage; the CLI
catches the root, prints it and exits with ``exit_code``. No other exception type may reach a
user: third-party errors are translated at the boundary (``raise XError(...) from exc``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]

# Exit codes of the CLI contract (DESIGN.md section 6).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_POLICY = 3
EXIT_STALE = 4
EXIT_CONFLICT = 5
EXIT_PARTIAL = 6
EXIT_NOT_APPROVED = 7  # --require-id names another plan: not the reviewed one (distinct from stale, 4)
EXIT_NOT_CONFIRMED = 8  # apply PLAN / promote: the answer was not `yes`, or no terminal and no --auto-approve


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, ends inclusive of the last char."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def source_lines(text: str) -> list[str]:
    """The lines of a source file as parsers number them: split at ``\n`` only (``str.splitlines``
    also splits at form feeds, ``\x1c``-``\x1e``, ``\x85``, U+2028 and a lone CR), CRLF's CR dropped."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    return [line.removesuffix("\r") for line in lines]


# Shown as '?' under a diagnostic: one character each, so the caret stays aligned.
_UNPRINTABLE = {c: "?" for c in [*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, 0x85, 0x2028, 0x2029]}


# In message text a control character is shown escaped (``\x00``): raw, a NUL or an escape
# sequence from a plan or a registry would reach the terminal or the CI log as it is.
_ESCAPED = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}


def printable(text: str) -> str:
    r"""``text`` with control characters (except tab and newline) written as ``\xNN``."""
    return text.translate(_ESCAPED)


@dataclass(frozen=True)
class Diagnostic:
    """One compiler-style message: severity, text, where, and notes printed under it."""

    severity: Severity
    message: str
    span: Span | None = None
    notes: tuple[str, ...] = ()

    def render(self, source: str | None = None) -> str:
        """``file:line:col: error: message``, then the source line and a caret, like a compiler."""
        head = f"{self.span}: " if self.span else ""
        out = [f"{head}{self.severity}: {printable(self.message)}"]
        if self.span is not None and source is not None:
            lines = source_lines(source)
            if 1 <= self.span.line <= len(lines):
                # Control characters would garble the two lines shown (a lone CR moves the cursor).
                text = lines[self.span.line - 1].expandtabs(1).translate(_UNPRINTABLE)
                width = 1
                if self.span.end_line == self.span.line and self.span.end_column:
                    width = max(1, self.span.end_column - self.span.column)
                text, col, width = _window(text, self.span.column - 1, width)
                out.append(f"    {text}")
                out.append("    " + " " * col + "^" + "~" * (width - 1))
        out.extend(f"  note: {printable(n)}" for n in self.notes)
        return "\n".join(out)

    def github(self) -> str:
        """A GitHub Actions workflow command annotation."""
        kind = "error" if self.severity == "error" else "warning" if self.severity == "warning" else "notice"
        msg = printable(self.message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        if self.span is None:
            return f"::{kind}::{msg}"
        return f"::{kind} file={self.span.file},line={self.span.line},col={self.span.column}::{msg}"


SNIPPET_WIDTH = 160  # columns of a source line echoed under a diagnostic


def _window(text: str, col: int, width: int) -> tuple[str, int, int]:
    """Cut a long source line to SNIPPET_WIDTH columns around ``col`` (0-based), marking cuts with
    ``...``; return the text, the caret's column in it and the underline width (clipped)."""
    if len(text) <= SNIPPET_WIDTH:
        return text, col, width
    col = min(max(col, 0), len(text))
    start = max(0, min(col - SNIPPET_WIDTH // 2, len(text) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    head = "..." if start > 0 else ""
    tail = "..." if end < len(text) else ""
    return head + text[start:end] + tail, len(head) + col - start, max(1, min(width, end - col))


class PlannerError(Exception):
    """Root of every error the planner reports to a user."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, *, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics: list[Diagnostic] = list(diagnostics or [])


class DiagnosticError(PlannerError):
    """One or more positioned diagnostics (parse, registry, plan compile errors)."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        first = (errors or diagnostics)[0].message if diagnostics else "invalid input"
        super().__init__(first, diagnostics=diagnostics)
        self.sources: dict[str, str] = dict(sources or {})

    def render(self) -> str:
        return "\n".join(d.render(self.sources.get(d.span.file) if d.span else None) for d in self.diagnostics)


@dataclass
class DiagnosticSink:
    """Collects diagnostics so a pass can report every error in a file in one run."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span | None = None, *notes: str) -> None:
        self.items.append(Diagnostic("error", message, span, tuple(notes)))

    def warning(self, message: str, span: Span | None = None, *notes: str) -> None:
        self.items.append(Diagnostic("warning", message, span, tuple(notes)))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)


def report(exc: PlannerError) -> None:
    """Print an error for a user on stderr: ``error: message`` or the rendered diagnostics."""
    if isinstance(exc, DiagnosticError):
        print(exc.render(), file=sys.stderr)
    else:
        print(f"error: {printable(exc.message)}", file=sys.stderr)
        for d in exc.diagnostics:
            print(d.render(), file=sys.stderr)
