"""Syntax errors: exact message, line, column and the expected tokens in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import DiagnosticError
from planner.lang.build import build
from planner.lang.parser import _building_parser, get_parser, parse, parse_plan

PLANS = Path(__file__).resolve().parents[1] / "plans"
EVERY_KIND = (
    'plan "all" {\n'
    '  description "every statement"\n'
    "  mk: create [prompts/a, b] v2.0.0 at main\n"
    "  promote prompts/* v2.0.0 to staging after mk\n"
    "  promote b from staging to production\n"
    "  rollback a in canary\n"
    "  rollback a in qa to v1.0.0\n"
    '  verify production get "https://x/\\"q" expect 200 within 2m after mk\n'
    '  reject a v1.1.0 "broken"\n'
    "  override b v1.2.0\n"
    "}\n"
)

CASES = [
    (
        'plan "p" {\n  promote prompts/x v1.0.0 staging\n}',
        "syntax error: missing 'to' before the environment (write: promote C VERSION to ENV)",
        2,
        28,
        ("found 'staging'", "expected 'to'"),
    ),
    (
        'plan "p" {\n  promote prompts/x 1.0.0 to staging\n}',
        "syntax error: missing version (versions look like v1.2.0; the 'v' is required)",
        2,
        21,
        ("found '1.0.0'", "expected 'from' or a version like v1.2.0"),
    ),
    (
        'plan "p" {\n  verify staging get https://x expect 200\n}',
        'syntax error: the URL must be a quoted string (write: verify ENV get "https://..." expect 200)',
        2,
        22,
        ("found 'https'", 'expected a quoted string ("...")'),
    ),
    (
        'plan "p" {\n  create a v1.0.0 at main\n',
        "syntax error: missing '}' at the end of the plan",
        2,
        22,
        (
            "found end of file",
            "expected 'after', 'create', 'override', 'promote', 'reject', 'rollback', 'verify', '}' or a label",
        ),
    ),
    (
        'plan "p" { promote a v1.0.0 to staging $ }',
        "syntax error: unexpected '$'",
        1,
        40,
        ("expected 'after', 'create', 'override', 'promote', 'reject', 'rollback', 'verify', '}' or a label",),
    ),
    ("", 'syntax error: a plan file starts with plan "NAME" { ... }', 1, 1, ("found end of file", "expected 'plan'")),
    (
        "promote x",
        'syntax error: a plan file starts with plan "NAME" { ... }',
        1,
        1,
        ("found 'promote'", "expected 'plan'"),
    ),
    (
        'plan "p" {\n  create a v1.0.0 main\n}',
        "syntax error: missing 'at' before the git ref (write: create C VERSION at REF)",
        2,
        19,
        ("found 'main'", "expected 'at'"),
    ),
    (
        'plan "p" {\n  rollback a production\n}',
        "syntax error: missing 'in' before the environment (write: rollback C in ENV [to VERSION])",
        2,
        14,
        ("found 'production'", "expected 'in'"),
    ),
    (
        'plan "p" {\n  verify staging get "https://x"\n}',
        "syntax error: missing 'expect STATUS' after the URL",
        3,
        1,
        ("found '}'", "expected 'expect'"),
    ),
    (
        'plan "p" {\n  verify staging get "https://x" expect\n}',
        "syntax error: missing HTTP status after 'expect' (e.g. expect 200)",
        3,
        1,
        ("found '}'", "expected an HTTP status code like 200"),
    ),
    (
        'plan "p"\n  promote a v1.0.0 to dev\n}',
        "syntax error: missing '{' after the plan name",
        2,
        3,
        ("found 'promote'", "expected '{'"),
    ),
    (
        'plan "p" {\n  promote a v1.0.0 to\n}',
        "syntax error: missing environment after 'to'",
        3,
        1,
        ("found '}'", "expected an environment name"),
    ),
    (
        'plan "p" {\n  promote a v1.0.0 to staging\n  description "late"\n}',
        "syntax error: the description must come first in the plan, before any statement",
        3,
        15,
        ("found '\"late\"'", "expected ':'"),
    ),
    (
        'plan "p" {\n  promote [a, b v1.0.0 to staging\n}',
        "syntax error: unexpected 'v1.0.0'",
        2,
        17,
        ("expected ',' or ']'",),
    ),
    (
        'plan "p" {\n  promote a v1.0.0 to staging after\n}',
        "syntax error: missing label after 'after'",
        3,
        1,
        ("found '}'", "expected a label"),
    ),
    (
        'plan "p" {\n  deploy a\n}',
        "syntax error: unknown statement: statements start with create, promote, rollback or verify ('name:' labels one)",
        2,
        10,
        ("found 'a'", "expected ':'"),
    ),
    (
        'plan "p" { description "unterminated }',
        "syntax error: unexpected character '\"'",
        1,
        24,
        ('expected a quoted string ("...")',),
    ),
    (
        'plan "p" {\n  create a at main\n}',
        "syntax error: missing version (versions look like v1.2.0; the 'v' is required)",
        2,
        12,
        ("found 'at'", "expected a version like v1.2.0"),
    ),
]


@pytest.mark.parametrize(("text", "message", "line", "column", "notes"), CASES)
def test_syntax_error(text: str, message: str, line: int, column: int, notes: tuple[str, ...]) -> None:
    with pytest.raises(DiagnosticError) as info:
        parse(text, "x.plan")
    [d] = info.value.diagnostics
    assert (d.severity, d.message, d.span.file, d.span.line, d.span.column, d.notes) == (  # type: ignore[union-attr]
        "error",
        message,
        "x.plan",
        line,
        column,
        notes,
    )
    assert info.value.sources == {"x.plan": text}


def test_syntax_error_renders_caret() -> None:
    with pytest.raises(DiagnosticError) as info:
        parse('plan "p" {\n  promote prompts/x v1.0.0 staging\n}', "x.plan")
    assert info.value.render().splitlines()[:3] == [
        "x.plan:2:28: error: syntax error: missing 'to' before the environment (write: promote C VERSION to ENV)",
        "      promote prompts/x v1.0.0 staging",
        "                               ^~~~~~~",
    ]


def test_parser_is_built_once() -> None:
    assert get_parser() is get_parser()


def test_ast_keeps_positions_comments_and_escapes() -> None:
    text = (
        'plan "rel \\"1\\"" {  # trailing comment\n'
        '  description "two\\nlines"\n'
        "  # a comment line\n"
        "  go: rollback [a, prompts/b] in production  # why\n"
        '  verify production get "https://x/y?z=1" expect 204 within 500ms after go\n'
        "}\n"
    )
    plan = build(parse(text, "f.plan"), "f.plan")
    assert plan.name.text == 'rel "1"'
    assert plan.description is not None and plan.description.text == "two\nlines"
    rb, vf = plan.statements
    assert rb.label is not None and (rb.label.text, rb.label.span.line, rb.label.span.column) == ("go", 4, 3)
    assert [(w.text, w.span.column) for w in rb.components] == [("a", 17), ("prompts/b", 20)]
    assert (rb.span.line, rb.span.column, rb.span.end_column) == (4, 7, 44)
    assert [w.text for w in vf.after] == ["go"]
    assert vf.url.text == "https://x/y?z=1"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", [*sorted(p.name for p in PLANS.glob("*.plan")), "every-kind"])
def test_compiled_parser_builds_the_plain_lark_ast(name: str) -> None:
    """parse_plan runs lark-cython's parser loop with the builder inside; its AST (every span
    included) is exactly plain lark's tree through the builder."""
    text = EVERY_KIND if name == "every-kind" else (PLANS / name).read_text()
    assert parse_plan(text, name) == build(parse(text, name), name)


def test_compiled_parser_is_lark_cython_and_errors_are_plain_larks() -> None:
    assert type(_building_parser().lark.parser.parser).__module__.startswith("lark_cython")
    text = 'plan "p" {\n  promote prompts/x v1.0.0 staging\n}'
    with pytest.raises(DiagnosticError) as fast:
        parse_plan(text, "x.plan")
    with pytest.raises(DiagnosticError) as plain:
        parse(text, "x.plan")
    assert fast.value.diagnostics == plain.value.diagnostics
    assert fast.value.diagnostics[0].message.startswith("syntax error: missing 'to'")
