"""Diagnostic.render echoes at most a window of a long source line, caret still aligned."""

from __future__ import annotations

from planner.errors import SNIPPET_WIDTH, Diagnostic, Span


def _caret_lines(rendered: str) -> tuple[str, str]:
    lines = rendered.splitlines()
    return lines[1], lines[2]


def test_long_line_is_cut_around_the_caret() -> None:
    line = "a" * 2_500_000 + "BAD" + "b" * 2_500_000
    col = 2_500_001
    d = Diagnostic("error", "boom", Span("f.plan", 1, col, 1, col + 3))
    text, caret = _caret_lines(d.render(line))
    assert len(text) < SNIPPET_WIDTH + 20
    assert text.startswith("    ...") and text.endswith("...")
    pos = caret.index("^")
    assert text[pos : pos + 3] == "BAD"
    assert caret[pos:] == "^~~"


def test_caret_near_the_start_and_end() -> None:
    line = "X" + "a" * 10_000 + "Y"
    first = Diagnostic("error", "e", Span("f", 1, 1)).render(line)
    text, caret = _caret_lines(first)
    assert text.startswith("    Xa") and text.endswith("...")
    assert text[caret.index("^")] == "X"
    last = Diagnostic("error", "e", Span("f", 1, len(line))).render(line)
    text, caret = _caret_lines(last)
    assert text.startswith("    ...") and text.endswith("aY")
    assert text[caret.index("^")] == "Y"


def test_short_line_unchanged() -> None:
    d = Diagnostic("error", "e", Span("f", 1, 3, 1, 5))
    assert d.render("abcdef") == "f:1:3: error: e\n    abcdef\n      ^~"
