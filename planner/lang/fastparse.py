"""A hand-written fast path for *valid* plans: text -> the AST lark + build would produce, or None.

Why it exists: on a 10,000-statement plan lark's contextual lexer (one regex match per token and
per whitespace run, a Token object each) and its LALR loop took ~0.6 s, most of a compile
(bench/README.md, "Plan compiler"). This module tokenizes each line with one compiled regex and
parses with a small recursive descent that builds the AST directly.

It is deliberately narrow: it accepts only input it can read exactly as lark reads it, and returns
None on anything else (any syntax error, and valid but unusual spellings such as ``toprod`` for
``to prod``, a label spelled like a keyword, or ``:`` in a git ref). The caller then parses with
lark (``planner.lang.parser.parse_plan``), so every diagnostic stays lark's. Why the two agree
(grammar/plan.lark under lark's contextual lexer):

* every chunk here ends at whitespace or one of ``"#[]{},:``, which no word terminal contains
  (except REF, which may contain ``:``: a ``:`` after a ref makes this module give up), and a
  chunk is accepted only if it *fully* matches the one terminal lark's lexer state allows there,
  or equals a keyword exactly; lark's greedy match of that terminal ends at the same place;
* in each of lark's lexer states the terminals that can start a token have distinct first
  characters, except keywords, which lark either matches as a prefix (required equal here) or
  folds into LABEL when spelled out in full ("unless"): labels spelled like any keyword are
  refused here, so a word at the start of a statement means the same thing to both.

tests/test_lang_fastparse.py pins those grammar facts and checks tokens and ASTs against lark on
every example plan and on generated valid, noisy and mutated plans and random text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from planner.errors import Span
from planner.lang import ast
from planner.lang.build import _unquote

# The grammar's terminals as written in grammar/plan.lark (a test keeps them equal).
TERMINALS = {
    "COMPONENT": r"[A-Za-z0-9_*?][A-Za-z0-9_*?.-]*(\/[A-Za-z0-9_*?.-]+)*",
    "LABEL": r"[A-Za-z_][A-Za-z0-9_-]*",
    "ENV": r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
    "VERSION": r"v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?",
    "REF": r'[^\s"#\[\]{},]+',
    "STATUS": r"[0-9]+",
    "DURATION": r"[0-9]+(\.[0-9]+)?(ms|s|m|h)",
    "STRING": '"([^"\\\\\n]|\\\\.)*"',  # lark keeps the newline of '\n' as is
    "COMMENT": "#[^\n]*",
}

# One token per match, leading blanks skipped: a word, a string, punctuation or a comment. Blanks
# are the grammar's WS without '\n' (lines are split first). A word runs up to a blank or one of
# "#[]{},: (no terminal but REF contains any of them).
_TOKEN = re.compile(
    r'[ \t\f\r]*(?:(?P<w>[^ \t\f\r\n"#\[\]{},:]+)|(?P<s>'
    + TERMINALS["STRING"]
    + r")|(?P<p>[\[\]{},:])|(?P<c>"
    + TERMINALS["COMMENT"]
    + "))"
)
_BLANK = re.compile(r"[ \t\f\r]*")

# A terminal matched in full against one word.
_Full = Callable[[str], "re.Match[str] | None"]
_COMPONENT: _Full = re.compile(TERMINALS["COMPONENT"]).fullmatch
_LABEL: _Full = re.compile(TERMINALS["LABEL"]).fullmatch
_ENV: _Full = re.compile(TERMINALS["ENV"]).fullmatch
_VERSION: _Full = re.compile(TERMINALS["VERSION"]).fullmatch
_REF: _Full = re.compile(TERMINALS["REF"]).fullmatch
_STATUS: _Full = re.compile(TERMINALS["STATUS"]).fullmatch
_DURATION: _Full = re.compile(TERMINALS["DURATION"]).fullmatch

_STATEMENTS = frozenset({"create", "promote", "rollback", "verify", "reject", "override"})
# Every keyword of the grammar: a label spelled like one is left to lark.
KEYWORDS = _STATEMENTS | {"plan", "description", "after", "at", "to", "from", "in", "get", "expect", "within"}

# A token: (kind, text, line, column, end column); kind "w" word, "s" string, "p" punctuation,
# "$" end of input. No token spans lines, so its end line is its line.
_Tok = tuple[str, str, int, int, int]


class _GiveUp(Exception):
    """The input is not something this module reads exactly as lark does."""


def tokens(text: str) -> list[_Tok] | None:
    """The tokens of ``text`` (comments and blanks dropped), or None if a character does not fit."""
    out: list[_Tok] = []
    append = out.append
    match = _TOKEN.match
    lineno = 0
    line = ""
    for lineno, line in enumerate(text.split("\n"), 1):
        pos = 0
        end = len(line)
        while pos < end:
            m = match(line, pos)
            if m is None:
                if _BLANK.match(line, pos).end() == end:  # type: ignore[union-attr]  # always matches
                    break
                return None
            kind = m.lastgroup or ""
            pos = m.end()
            if kind != "c":
                append((kind, m.group(kind), lineno, m.start(kind) + 1, pos + 1))
    append(("$", "", lineno, len(line) + 1, len(line) + 1))
    return out


class _Parser:
    """Recursive descent over ``tokens``; raises _GiveUp at the first thing it does not expect."""

    def __init__(self, toks: list[_Tok], filename: str) -> None:
        self.toks = toks
        self.i = 0
        self.file = filename

    def _next(self) -> _Tok:
        tok = self.toks[self.i]
        if tok[0] == "$":
            raise _GiveUp
        self.i += 1
        return tok

    def _keyword(self, word: str) -> None:
        tok = self._next()
        if tok[0] != "w" or tok[1] != word:
            raise _GiveUp

    def _punct(self, char: str) -> _Tok:
        tok = self._next()
        if tok[0] != "p" or tok[1] != char:
            raise _GiveUp
        return tok

    def _word(self, full: _Full) -> ast.Word:
        """The next token as a Word, if it is a word ``full`` (a terminal's fullmatch) accepts."""
        kind, text, line, col, end = self._next()
        if kind != "w" or full(text) is None:
            raise _GiveUp
        return ast.Word(text, Span(self.file, line, col, line, end))

    def _string(self) -> ast.Word:
        kind, text, line, col, end = self._next()
        if kind != "s":
            raise _GiveUp
        return ast.Word(_unquote(text), Span(self.file, line, col, line, end))

    def _peek(self, kind: str, text: str) -> bool:
        tok = self.toks[self.i]
        return tok[0] == kind and tok[1] == text

    def _span(self, first: _Tok, last: Span) -> Span:
        return Span(self.file, first[2], first[3], last.end_line, last.end_column)

    def plan(self) -> ast.Plan:
        first = self.toks[0]
        self._keyword("plan")
        name = self._string()
        self._punct("{")
        description = None
        if self._peek("w", "description"):
            self.i += 1
            description = self._string()
        statements: list[ast.Statement] = []
        while not self._peek("p", "}"):
            statements.append(self._line())
        rbrace = self._next()
        if self.toks[self.i][0] != "$":
            raise _GiveUp
        return ast.Plan(name, description, tuple(statements), Span(self.file, first[2], first[3], rbrace[2], rbrace[4]))

    def _line(self) -> ast.Statement:
        label = None
        kw = self._next()
        if kw[0] != "w":
            raise _GiveUp
        if kw[1] not in _STATEMENTS:
            if kw[1] in KEYWORDS or _LABEL(kw[1]) is None:
                raise _GiveUp
            label = ast.Word(kw[1], Span(self.file, kw[2], kw[3], kw[2], kw[4]))
            self._punct(":")
            kw = self._next()
            if kw[0] != "w" or kw[1] not in _STATEMENTS:
                raise _GiveUp
        stmt = self._statement(kw)
        if self._peek("w", "after"):
            self.i += 1
            after = [self._word(_LABEL)]
            while self._peek("p", ","):
                self.i += 1
                after.append(self._word(_LABEL))
            return dataclasses.replace(stmt, label=label, after=tuple(after))
        if label is not None:
            return dataclasses.replace(stmt, label=label)
        return stmt

    def _statement(self, kw: _Tok) -> ast.Statement:
        word = kw[1]
        if word == "promote":
            return self._promote(kw)
        if word == "create":
            return self._create(kw)
        if word == "rollback":
            return self._rollback(kw)
        if word == "verify":
            return self._verify(kw)
        if word == "reject":
            return self._reject(kw)
        return self._override(kw)

    def _components(self) -> tuple[ast.Word, ...]:
        if not self._peek("p", "["):
            return (self._word(_COMPONENT),)
        self.i += 1
        words = [self._word(_COMPONENT)]
        while True:
            kind, text = self._next()[:2]
            if kind != "p":
                raise _GiveUp
            if text == "]":
                return tuple(words)
            if text != ",":
                raise _GiveUp
            if self._peek("p", "]"):
                self.i += 1
                return tuple(words)
            words.append(self._word(_COMPONENT))

    def _create(self, kw: _Tok) -> ast.Create:
        comps = self._components()
        version = self._word(_VERSION)
        self._keyword("at")
        ref = self._string() if self.toks[self.i][0] == "s" else self._word(_REF)
        return ast.Create(comps, version, ref, self._span(kw, ref.span))

    def _promote(self, kw: _Tok) -> ast.Promote | ast.Copy:
        comps = self._components()
        if self._peek("w", "from"):
            self.i += 1
            src = self._word(_ENV)
            self._keyword("to")
            dst = self._word(_ENV)
            return ast.Copy(comps, src, dst, self._span(kw, dst.span))
        version = self._word(_VERSION)
        self._keyword("to")
        env = self._word(_ENV)
        return ast.Promote(comps, version, env, self._span(kw, env.span))

    def _rollback(self, kw: _Tok) -> ast.Rollback:
        comps = self._components()
        self._keyword("in")
        env = self._word(_ENV)
        version = None
        if self._peek("w", "to"):
            self.i += 1
            version = self._word(_VERSION)
        return ast.Rollback(comps, env, version, self._span(kw, (version or env).span))

    def _verify(self, kw: _Tok) -> ast.VerifyStmt:
        env = self._word(_ENV)
        self._keyword("get")
        url = self._string()
        self._keyword("expect")
        status = self._word(_STATUS)
        within = None
        if self._peek("w", "within"):
            self.i += 1
            within = self._word(_DURATION)
        return ast.VerifyStmt(env, url, status, within, self._span(kw, (within or status).span))

    def _reject(self, kw: _Tok) -> ast.Reject:
        comps = self._components()
        version = self._word(_VERSION)
        reason = self._string() if self.toks[self.i][0] == "s" else None
        return ast.Reject(comps, version, reason, self._span(kw, (reason or version).span))

    def _override(self, kw: _Tok) -> ast.Override:
        comps = self._components()
        version = self._word(_VERSION)
        reason = self._string() if self.toks[self.i][0] == "s" else None
        return ast.Override(comps, version, reason, self._span(kw, (reason or version).span))


def parse_fast(text: str, filename: str) -> ast.Plan | None:
    """The plan lark would build from ``text``, or None: then parse with lark (errors included)."""
    toks = tokens(text)
    if toks is None:
        return None
    try:
        return _Parser(toks, filename).plan()
    except _GiveUp:
        return None
