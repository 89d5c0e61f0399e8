"""Reading and writing user-named files with errors a user can act on.

Every file the planner reads on a user's behalf (planner.toml, components.json, manifests,
wrangler configs) and every ``-o`` output goes through here, so a directory where a file is
expected, a missing parent, a permission problem or bytes that are not UTF-8 become one
:class:`PlannerError` naming the file (and the position of the first bad byte), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from planner.errors import EXIT_ERROR, Diagnostic, DiagnosticError, PlannerError, Span


class FileError(PlannerError):
    """A file could not be read or written."""


class OutputError(OSError):
    """Writing the command's output to stdout failed (a full disk, an I/O error); not a broken pipe."""


class _StdoutBuffer(io.BufferedWriter):
    """stdout's byte layer under :func:`guard_stdout`: its write errors are :class:`OutputError`,
    and it never loses the rest of a partly written chunk (Python's unbuffered stdout, as with
    ``PYTHONUNBUFFERED=1``, drops what a short write left over)."""

    def __init__(self, raw: io.RawIOBase, *, unbuffered: bool) -> None:
        super().__init__(raw)
        self._unbuffered = unbuffered

    def write(self, data: Any) -> int:
        with _as_output_error():
            n = super().write(data)
            if self._unbuffered:
                super().flush()
            return n

    def flush(self) -> None:
        with _as_output_error():
            super().flush()


@contextlib.contextmanager
def _as_output_error() -> Iterator[None]:
    """OSErrors of stdout's byte layer become OutputError; a broken pipe stays itself (quiet)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno, exc.strerror) from exc


class _StdoutText(io.TextIOWrapper):
    """stdout's text layer under :func:`guard_stdout`: a character the output encoding cannot
    represent (``PYTHONIOENCODING=ascii``) is an :class:`OutputError` that says so."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except UnicodeEncodeError as exc:
            reason = f"{exc.object[exc.start]!r} cannot be written in the output encoding {self.encoding}"
            raise OutputError(errno.EILSEQ, f"{reason} (set PYTHONIOENCODING=utf-8)") from exc


class _ClosedStdout(io.TextIOBase):
    """What stdout is when the command was started with it closed (``planner status >&-``)."""

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OutputError(errno.EBADF, "standard output is closed")


def guard_stdout() -> None:
    """Give the real stdout a byte layer that reports write errors as :class:`OutputError`, so the
    CLI can tell "cannot write output" apart from any other OSError (a journal on a full disk).
    Same encoding, error handler, line buffering and write-through as before. A closed stdout
    becomes one whose writes fail the same way."""
    out = sys.stdout
    if out is None and sys.__stdout__ is None:
        sys.stdout = _ClosedStdout()
        return
    if out is None or out is not sys.__stdout__ or not isinstance(out, io.TextIOWrapper):
        return  # replaced (a test's capture): leave it alone
    try:
        fd = out.fileno()
        out.flush()
    except (OSError, ValueError):
        return
    buffer = _StdoutBuffer(io.FileIO(fd, "w", closefd=False), unbuffered=out.write_through)
    sys.stdout = _StdoutText(
        buffer,
        encoding=out.encoding,
        errors=out.errors,
        line_buffering=out.line_buffering,
        write_through=out.write_through,
    )


def detach_stdout() -> None:
    """Point stdout at /dev/null: nothing more can be written, and Python's exit-time flush of a
    closed pipe must not print an "Exception ignored" message."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # replaced by a test's capture, or closed
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def finish_stdout(code: int, text: str = "") -> int:
    """Write ``text`` and flush stdout before exiting with ``code``: a reader that went away
    (``| head``) ends the command quietly with exit 1; any other write error (a full disk) is
    reported, exit 1; Ctrl-C is "interrupted", exit 130. The exit code to use is returned."""
    try:
        if text:
            sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        detach_stdout()
        return code or EXIT_ERROR
    except OSError as exc:
        report_output_error(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C while a large document is being written
        detach_stdout()
        print("interrupted", file=sys.stderr)
        return 130
    return code


def report_output_error(exc: OSError) -> None:
    """Drop whatever output is still pending and say why it could not be written."""
    detach_stdout()
    print(f"error: cannot write output: {exc.strerror or exc}", file=sys.stderr)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, NotADirectoryError):
        return "a parent of it is not a directory"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def utf8_error(display_name: str, data: bytes, exc: UnicodeDecodeError) -> DiagnosticError:
    """A positioned diagnostic for the first byte that is not UTF-8 (line, column, byte offset)."""
    head = data[: exc.start]
    line = head.count(b"\n") + 1
    col = len(head) - (head.rfind(b"\n") + 1) + 1
    msg = f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} (line {line})"
    return DiagnosticError([Diagnostic("error", msg, Span(display_name, line, col))])


def decode_utf8(display_name: str, data: bytes) -> str:
    """``data`` as text; a leading UTF-8 BOM is dropped (editors on Windows add one)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise utf8_error(display_name, data, exc) from None
    return text.removeprefix("\ufeff")


def read_text_file(path: Path | str, display_name: str | None = None) -> str:
    """The UTF-8 text of ``path``; every OS or decoding problem is a PlannerError naming the file."""
    name = display_name or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read {name}: {_os_reason(exc)}") from None
    return decode_utf8(name, data)


def write_text_file(path: Path | str, text: str, display_name: str | None = None, *, parents: bool = False) -> None:
    """Write ``text`` to ``path`` (the ``-o`` of every command); problems name the file.

    ``parents`` creates missing parent directories first (for default output locations).
    """
    name = display_name or str(path)
    try:
        if parents:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FileError(f"cannot write {name}: {_os_reason(exc)}") from None


def loads_json(display_name: str, text: str, **kw: Any) -> Any:
    """``json.loads`` with positioned errors; absurd nesting (RecursionError) is an error too."""
    try:
        return json.loads(text, **kw)
    except json.JSONDecodeError as exc:
        span = Span(display_name, exc.lineno, exc.colno)
        raise DiagnosticError([Diagnostic("error", f"malformed JSON: {exc.msg}", span)], {display_name: text}) from None
    except RecursionError:
        msg = "malformed JSON: nested too deeply"  # no source shown: the line may be megabytes long
        raise DiagnosticError([Diagnostic("error", msg, Span(display_name, 1, 1))]) from None


def loads_jsonc(display_name: str, text: str) -> Any:
    """JSON with comments and trailing commas (wrangler.jsonc), read by the ``json5`` library
    (JSONC is a subset of JSON5); errors at the line and column where its parser stopped."""
    import json5

    try:
        value, err, pos = json5.parse(text) if text.strip() else (None, "empty", len(text))
    except RecursionError:
        msg = "malformed JSONC: nested too deeply"  # no source shown: the line may be megabytes long
        raise DiagnosticError([Diagnostic("error", msg, Span(display_name, 1, 1))]) from None
    if err is None:
        return value
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    found = f"unexpected {text[pos]!r}" if pos < len(text) else "unexpected end of input"
    span = Span(display_name, line, col)
    raise DiagnosticError([Diagnostic("error", f"malformed JSONC: {found}", span)], {display_name: text})


def loads_toml(display_name: str, text: str) -> dict[str, Any]:
    """``tomllib.loads`` with positioned errors; absurd nesting (RecursionError) is an error too."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts "(at line L, column C)" in the message; keep it positioned.
        line = getattr(exc, "lineno", 1) or 1
        col = getattr(exc, "colno", 1) or 1
        span = Span(display_name, line, col)
        raise DiagnosticError([Diagnostic("error", f"malformed TOML: {exc}", span)], {display_name: text}) from None
    except RecursionError:
        span = Span(display_name, 1, 1)
        msg = "malformed TOML: nested too deeply"
        raise DiagnosticError([Diagnostic("error", msg, span)]) from None
