"""Plan text -> lark syntax tree with positions; syntax errors -> positioned Diagnostics.

The parser object is built once per process (``get_parser``). The grammar ships in the wheel as
the package ``planner.grammar``; from a source checkout the top-level ``grammar/`` is used.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from planner.errors import Diagnostic, DiagnosticError, Span
from planner.lang import ast
from planner.model import version_suggestion

GRAMMAR_FILE = "plan.lark"

# Terminal names -> words a plan author understands (the named patterns).
_WORDS: dict[str, str] = {
    "COMPONENT": "a component (type/name, a bare name, a glob like prompts/*, or a [list])",
    "LABEL": "a label",
    "ENV": "an environment name",
    "VERSION": "a version like v1.2.0",
    "REF": "a git ref (branch, tag or commit)",
    "STRING": 'a quoted string ("...")',
    "STATUS": "an HTTP status code like 200",
    "DURATION": "a duration like 30s, 500ms, 2m",
    "$END": "end of file",
}  # keywords and punctuation need no entry: they are shown as written ('create', '}')

# Common mistakes -> friendly messages (lark's match_examples compares parser states).
_EXAMPLES: dict[str, list[str]] = {
    "missing 'to' before the environment (write: promote C VERSION to ENV)": [
        'plan "p" { promote a v1.0.0 staging }',
        'plan "p" { promote a v1.0.0 }',
    ],
    "missing environment after 'to'": [
        'plan "p" { promote a v1.0.0 to }',
        'plan "p" { promote a from staging to }',
        'plan "p" { rollback a in staging to }',
    ],
    "missing 'at' before the git ref (write: create C VERSION at REF)": [
        'plan "p" { create a v1.0.0 main }',
        'plan "p" { create a v1.0.0 }',
    ],
    "missing git ref after 'at' (a branch, tag or commit)": [
        'plan "p" { create a v1.0.0 at }',
    ],
    "missing version (versions look like v1.2.0; the 'v' is required)": [
        'plan "p" { create a at main }',
        'plan "p" { promote a to staging }',
        'plan "p" { create a 1.0.0 at main }',
        'plan "p" { promote a 1.0.0 to staging }',
    ],
    "missing 'in' before the environment (write: rollback C in ENV [to VERSION])": [
        'plan "p" { rollback a production }',
        'plan "p" { rollback a }',
    ],
    'the URL must be a quoted string (write: verify ENV get "https://..." expect 200)': [
        'plan "p" { verify staging get https }',
        'plan "p" { verify staging get }',
    ],
    "missing HTTP status after 'expect' (e.g. expect 200)": [
        'plan "p" { verify staging get "u" expect }',
        'plan "p" { verify staging get "u" expect ok }',
    ],
    "missing 'expect STATUS' after the URL": [
        'plan "p" { verify staging get "u" }',
        'plan "p" { verify staging get "u" 200 }',
    ],
    'a plan file starts with plan "NAME" { ... }': [
        "",
        "promote",
        "create",
        "plan p",
        "plan {",
    ],
    "missing '{' after the plan name": [
        'plan "p" promote',
        'plan "p"',
    ],
    "missing '}' at the end of the plan": [
        'plan "p" {',
        'plan "p" { promote a v1.0.0 to staging',
        'plan "p" { rollback a in staging',
    ],
    "the description must come first in the plan, before any statement": [
        'plan "p" { promote a v1.0.0 to staging description "x" }',
    ],
    "unknown statement: statements start with create, promote, rollback or verify ('name:' labels one)": [
        'plan "p" { deploy a }',
        'plan "p" { deploy a v1.0.0 }',
        'plan "p" { deploy v1.0.0 }',
        'plan "p" { deploy [ }',
        'plan "p" { deploy }',
        'plan "p" { promote a v1.0.0 to staging deploy a }',
    ],
    "missing label after 'after'": [
        'plan "p" { promote a v1.0.0 to staging after }',
    ],
}


def _grammar_text() -> str:
    try:
        return resources.files("planner.grammar").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        # Running from a source tree where planner.grammar is not mapped: use ../grammar/.
        return (Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE).read_text(encoding="utf-8")


@functools.cache
def get_parser() -> Lark:
    """The one LALR parser of this process. (strict=True needs the optional interegular package,
    so conflicts are checked by lark's LALR table builder, which rejects reduce/reduce conflicts.)"""
    return Lark(
        _grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,  # spans come from tokens (planner.lang.build)
        maybe_placeholders=False,
    )


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    parser = get_parser()
    words: set[str] = set()
    for name in expected:
        if name in _WORDS:
            words.add(_WORDS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            words.add(name.lower())
            continue
        words.add(f"'{pattern.value}'" if pattern.type == "str" else name.lower())
    ordered = sorted(words)
    if len(ordered) <= 1:
        return "".join(ordered)
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _state_key(exc: UnexpectedInput) -> tuple[frozenset[str], str | None]:
    """(what the parser could accept, offending token type): what identifies a kind of mistake.

    LALR states are shared between statements (e.g. right after a component), so the set of
    acceptable tokens, computed by lark's interactive parser, tells mistakes apart better.
    """
    accepts = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ()
    token = getattr(exc, "token", None)
    return (frozenset(accepts), getattr(token, "type", None))


@functools.cache
def _example_table() -> dict[tuple[frozenset[str], str | None], str]:
    # lark's own match_examples trips over the contextual lexer's ParserState objects
    # (lark 1.3), so the table is matched here.
    rows: dict[tuple[frozenset[str], str | None], str] = {}
    for label, examples in _EXAMPLES.items():
        for example in examples:
            try:
                get_parser().parse(example)
            except UnexpectedInput as exc:
                rows.setdefault(_state_key(exc), label)
    return rows


def _match_example(exc: UnexpectedInput) -> str | None:
    if isinstance(exc, UnexpectedCharacters):  # a stray character: say which, not a guess
        return None
    key = _state_key(exc)
    if key[1] == "$END" and "RBRACE" in key[0]:
        return "missing '}' at the end of the plan"
    return _example_table().get(key)


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"'{tok}'"


def _syntax_diagnostic(exc: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if not isinstance(line, int) or line < 1:  # EOF has no position: point just past the text
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
    span = Span(filename, line, column if isinstance(column, int) and column > 0 else 1)
    friendly = _match_example(exc)
    pos = exc.pos_in_stream if isinstance(exc.pos_in_stream, int) else len(text)
    if friendly == "missing environment after 'to'" and text[:pos].rstrip().endswith("environment"):
        friendly = "missing environment name after 'create environment'"  # the same parser state
    if isinstance(exc, UnexpectedCharacters):
        char = text[pos] if 0 <= pos < len(text) else ""
        base = f"unexpected character {char!r}"
        expected = exc.allowed or set()
    elif isinstance(exc, UnexpectedToken):
        base = f"unexpected {_token_text(exc.token)}"
        if exc.token.type != "$END" and exc.token.end_column is not None and exc.token.end_line == line:
            span = Span(filename, line, span.column, exc.token.end_line, exc.token.end_column)
        expected = exc.accepts or exc.expected
    elif isinstance(exc, UnexpectedEOF):
        base = "unexpected end of file"
        expected = set(exc.expected)
    else:  # pragma: no cover - lark has no other UnexpectedInput kinds
        base, expected = "syntax error", set()
    message = f"syntax error: {friendly}" if friendly else f"syntax error: {base}"
    word = str(exc.token) if isinstance(exc, UnexpectedToken) else ""
    if word.startswith(("v", "V")) and (hint := version_suggestion(word)):  # `v1.1`: the 'v' is there
        message = f"syntax error: incomplete version '{word}' (did you mean {hint}?)"
    notes = (f"expected {_describe_expected(expected)}",) if expected else ()
    if friendly:
        notes = (f"found {base.removeprefix('unexpected ')}", *notes)
    return Diagnostic("error", message, span, notes)


class _BuildingParser:
    """An LALR parser that runs the AST builder inside the parser: no parse tree is built.

    Same grammar, same tables as ``get_parser()``; its callbacks are planner.lang.build's, so the
    result is exactly ``build(parse(text))``. The builder carries the file name, hence the lock.
    Its lexer and parser loop are lark-cython's (lark's own compiled plugin, ~25% less parse time);
    a syntax error is parsed again by ``get_parser()``, so diagnostics are plain lark's.
    """

    def __init__(self) -> None:
        import lark_cython  # type: ignore[import-untyped]  # lark's compiled LALR lexer+parser loop

        from planner.lang.build import _Builder

        self.builder = _Builder("<plan>")
        self.lark = Lark(
            _grammar_text(),
            parser="lalr",
            lexer="contextual",
            propagate_positions=False,
            maybe_placeholders=False,
            transformer=self.builder,
            _plugins=lark_cython.plugins,
        )
        self.lock = threading.Lock()


@functools.cache
def _building_parser() -> _BuildingParser:
    return _BuildingParser()


def parse_plan(text: str, filename: str = "<plan>") -> ast.Plan:
    """Parse and build in one pass (what ``build(parse(text, f), f)`` returns, without the tree).

    On a syntax error the text is parsed again by ``parse``, so diagnostics are exactly its own.
    """
    bp = _building_parser()
    try:
        with bp.lock:
            bp.builder.filename = filename
            plan = bp.lark.parse(text)
    except LarkError:
        parse(text, filename)  # raises the positioned DiagnosticError
        raise  # pragma: no cover - the plain parser rejects whatever this one rejects
    if not isinstance(plan, ast.Plan):  # pragma: no cover - the grammar's start rule builds a Plan
        raise TypeError(f"parser returned {type(plan).__name__}")
    return plan


def parse(text: str, filename: str = "<plan>") -> Tree[Token]:
    """Parse plan text; raise DiagnosticError (first syntax error, positioned) on bad input."""
    try:
        return get_parser().parse(text)
    except UnexpectedInput as exc:
        diag = _syntax_diagnostic(exc, text, filename)
    except LarkError as exc:  # e.g. a lexer failure lark reports without position
        diag = Diagnostic("error", f"syntax error: {exc}", Span(filename, 1, 1))
    raise DiagnosticError([diag], {filename: text})
