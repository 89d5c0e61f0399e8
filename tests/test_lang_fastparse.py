"""The hand-written fast path (planner.lang.fastparse) reads exactly what lark reads, or gives up.

Checked against lark itself: the terminals and the lexer-state facts the module relies on, the
token stream (text, line, column, end) and the AST of every example plan and of generated valid
plans, and on mutated and random text: whatever the fast path accepts, lark accepts with the same
AST; whatever it declines goes to lark, whose diagnostics parse_plan returns unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import DiagnosticError
from planner.lang import ast, fastparse
from planner.lang.build import build
from planner.lang.fastparse import parse_fast
from planner.lang.parser import get_parser, parse, parse_plan
from tests.fixtures_lang import assert_same_syntax_error
from tests.test_lang_fuzz import TOKENS, mutated

PLANS = sorted((Path(__file__).resolve().parents[1] / "plans").glob("*.plan"))
WORD_TERMINALS = {"COMPONENT", "LABEL", "ENV", "VERSION", "REF", "STATUS", "DURATION"}


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


def lark_plan(text: str) -> ast.Plan | None:
    """What the lark path builds, or None on a syntax error."""
    try:
        return build(parse(text, "f.plan"), "f.plan")
    except DiagnosticError:
        return None


def lark_tokens(text: str) -> list[tuple[str, int, int, int, int]]:
    ip = get_parser().parse_interactive(text)
    out = []
    for tok in ip.iter_parse():
        assert tok.line is not None and tok.column is not None
        assert tok.end_line is not None and tok.end_column is not None
        out.append((str(tok), tok.line, tok.column, tok.end_line, tok.end_column))
    return out


def fast_tokens(text: str) -> list[tuple[str, int, int, int, int]]:
    toks = fastparse.tokens(text)
    assert toks is not None
    return [(t, line, col, line, end) for kind, t, line, col, end in toks if kind != "$"]


def assert_same(text: str) -> ast.Plan:
    """The fast path accepts ``text`` and agrees with lark on every token and the whole AST."""
    fast = parse_fast(text, "f.plan")
    assert fast is not None, text
    assert fast == lark_plan(text)
    assert fast_tokens(text) == lark_tokens(text)
    assert parse_plan(text, "f.plan") == fast
    return fast


def assert_agrees_or_declines(text: str) -> None:
    fast = parse_fast(text, "f.plan")
    expected = lark_plan(text)
    if fast is not None:
        assert fast == expected, text
        assert fast_tokens(text) == lark_tokens(text)
    try:
        got = parse_plan(text, "f.plan")
    except DiagnosticError as exc:
        with pytest.raises(DiagnosticError) as plain:
            parse(text, "f.plan")
        assert exc.diagnostics == plain.value.diagnostics
        assert exc.render() == plain.value.render()
    else:
        assert got == expected


# --- the facts about the grammar the fast path relies on -------------------------------------


def test_terminals_are_the_grammars() -> None:
    parser = get_parser()
    for name, pattern in fastparse.TERMINALS.items():
        assert parser.get_terminal(name).pattern.value == pattern, name
    words = {t.pattern.value for t in parser.terminals if t.pattern.type == "str" and t.pattern.value.isalpha()}
    assert words == fastparse.KEYWORDS
    punct = {t.pattern.value for t in parser.terminals if t.pattern.type == "str" and not t.pattern.value.isalpha()}
    assert punct == set("[]{},:")
    assert parser.get_terminal("WS").pattern.to_regexp() == "(?:[ \t\x0c\r\n])+"
    assert set(parser.ignore_tokens) == {"WS", "COMMENT"}


def test_each_lexer_state_has_at_most_one_word_terminal_and_only_label_folds_keywords() -> None:
    lexer = get_parser().parser.lexer
    for state_lexer in {id(x): x for x in lexer.lexers.values()}.values():
        state_lexer.scanner  # noqa: B018 - builds the scanner and its "unless" callbacks
        names = {t.name for t in state_lexer.terminals}
        assert len(names & WORD_TERMINALS) <= 1, names
        assert set(state_lexer.callback) <= {"LABEL"}, names


# --- examples and hand-picked cases --------------------------------------------------------------


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_example_plans_take_the_fast_path(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = assert_same(text)
    assert fast == build(parse(text, "f.plan"), "f.plan")


@pytest.mark.parametrize(
    "text",
    [
        'plan"p"{promote[a,b,]v1.0.0 to dev}',  # no blanks around punctuation and strings
        'plan "p" {\r\n  lbl:promote a v1.0.0 to dev\r\n}\r\n',  # CRLF, label glued to ':'
        'plan "p" {\n\tpromote to v1.0.0 to in # component "to", env "in"\n}',
        'plan "p" {\n  x: promote a v1.0.0 to dev\n  promote b v1.0.0 to dev\n  after x , x\n}',  # after on its own line
        'plan "p" {\n  rollback a in prod\n  to v1.0.0\n  verify prod get "u # not a comment"\n expect 200\n within 5s\n}',
        'plan "p" { reject [ a ] v1.0.0 "why \\" not" override a v1.0.0 create a v1.0.0 at "-x y" }',
        'plan "p" { description "d\\n" create a v1.0.0 at ünïcödé/ref }#',
        '\f plan "p" {\f}\f',
    ],
)
def test_valid_edge_cases_take_the_fast_path(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize(
    "text",
    [
        'plan "p" { promote a v1.0.0 toprod }',  # lark reads 'to' 'prod'
        'plan "p" { promote a fromage to prod }',  # lark reads 'from' 'age'
        'plan "p" { create a v1.0.0 at main:x }',  # ':' belongs to a REF
        'plan "p" { promote a v1.0.0 to dev after x after: promote b v1.0.0 to dev }',  # label 'after'
        'plan "p" { to: promote a v1.0.0 to dev }',  # a label spelled like a keyword
        'plan "p" { lbl: promotea v1.0.0 to dev }',  # after ':' lark reads 'promote' 'a'
        'planx "p" { }',
    ],
)
def test_unusual_spellings_go_to_lark(text: str) -> None:
    assert parse_fast(text, "f.plan") is None
    assert_agrees_or_declines(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        'plan "p" {',
        'plan "p" { promote a v1.0.0 staging }',
        'plan "p" { deploy a }',
        'plan "p" { % }',
        'plan "p" { promote a v1.0.0 to dev } extra',
        'plan "p" { create a v1.0.0 at "unterminated }',
        'plan "p" { promote a/ v1.0.0 to dev }',
        'plan "p" { promote a v1.0.0x to dev }',
        'plan "p" { verify dev get "u" expect 200x }',
        'plan "p" { promote a v1.0.0 to dev\v}',
        '\ufeffplan "p" { }',
    ],
)
def test_syntax_errors_fall_back_to_lark_with_its_diagnostics(text: str) -> None:
    assert parse_fast(text, "f.plan") is None
    assert_same_syntax_error(text)


# --- generated plans -------------------------------------------------------------------------------

COMPONENTS = ["prompts/extraction", "agents/*", "*", "summary", "a-b.c", "x_1", "?x", "9lives", "to", "in", "after"]
VERSIONS = ["v1.0.0", "v0.9.0", "v12.3.45-rc.1", "v1.0.0-a-b"]
ENVS = ["dev", "staging", "prod-1", "a.b", "9", "to", "in", "after", "from"]
LABELS = ["lbl", "_x", "a-b", "Check2"]
KEYWORD_LABELS = ["after", "to", "within", "description", "plan", "promote", "at", "in"]
STRINGS = ['"x"', '"a b"', '"esc \\" q"', '"https://x/h"', '""', '"# no comment"']
REFS = ["main", "release/next", "v1.0.0", "HEAD~1", "-x", "ünï", '"quoted ref"']
CANONICAL_SEPS = [" ", "\n", "\n  "]
NOISY_SEPS = [*CANONICAL_SEPS, "\t", "\r\n", "\f", "  # c\n", "\n\n"]
GLUE_SEPS = [*NOISY_SEPS, "", ":"]  # "" glues neighbours together: often another reading


@st.composite
def statement(draw: st.DrawFn, canonical: bool) -> list[str]:
    def comps() -> list[str]:
        if draw(st.booleans()):
            return [draw(st.sampled_from(COMPONENTS))]
        names = draw(st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3))
        out = ["[", names[0]]
        for n in names[1:]:
            out += [",", n]
        return out + ([","] if draw(st.booleans()) else []) + ["]"]

    version = st.sampled_from(VERSIONS)
    env = st.sampled_from(ENVS)
    kind = draw(st.sampled_from(["create", "promote", "copy", "rollback", "verify", "reject", "override"]))
    if kind == "create":
        refs = REFS if canonical else [*REFS, "a:b"]
        toks = ["create", *comps(), draw(version), "at", draw(st.sampled_from(refs))]
    elif kind == "promote":
        toks = ["promote", *comps(), draw(version), "to", draw(env)]
    elif kind == "copy":
        toks = ["promote", *comps(), "from", draw(env), "to", draw(env)]
    elif kind == "rollback":
        toks = ["rollback", *comps(), "in", draw(env)] + (["to", draw(version)] if draw(st.booleans()) else [])
    elif kind == "verify":
        url, status = draw(st.sampled_from(STRINGS)), draw(st.sampled_from(["200", "0"]))
        toks = ["verify", draw(env), "get", url, "expect", status]
        toks += ["within", draw(st.sampled_from(["30s", "500ms", "1.5h"]))] if draw(st.booleans()) else []
    else:
        toks = [kind, *comps(), draw(version)] + ([draw(st.sampled_from(STRINGS))] if draw(st.booleans()) else [])
    labels = LABELS if canonical else LABELS + KEYWORD_LABELS
    if draw(st.booleans()):
        toks = [draw(st.sampled_from(labels)), ":", *toks]
    if draw(st.booleans()):
        after = draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3))
        toks += ["after", after[0]]
        for a in after[1:]:
            toks += [",", a]
    return toks


@st.composite
def plan_text(draw: st.DrawFn, canonical: bool) -> str:
    toks = ["plan", draw(st.sampled_from(STRINGS)), "{"]
    if draw(st.booleans()):
        toks += ["description", draw(st.sampled_from(STRINGS))]
    for _ in range(draw(st.integers(0, 6))):
        toks += draw(statement(canonical))
    toks.append("}")
    seps = CANONICAL_SEPS if canonical else draw(st.sampled_from([NOISY_SEPS, GLUE_SEPS]))
    out = toks[0]
    for tok in toks[1:]:
        out += draw(st.sampled_from(seps)) + tok
    return out + draw(st.sampled_from(["", "\n", " # end\n"]))


@fuzz(300)
@given(plan_text(canonical=True))
def test_generated_valid_plans_take_the_fast_path(text: str) -> None:
    assert_same(text)


@fuzz(400)
@given(plan_text(canonical=False))
def test_generated_noisy_plans_agree_or_decline(text: str) -> None:
    assert_agrees_or_declines(text)


@fuzz(600)
@given(mutated())
def test_mutated_plans_agree_or_decline(text: str) -> None:
    assert_agrees_or_declines(text)


@fuzz(400)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_token_soup_agrees_or_declines(toks: list[str]) -> None:
    assert_agrees_or_declines('plan "p" { ' + " ".join(toks) + " }")


@fuzz(300)
@given(st.text(max_size=120))
def test_random_text_agrees_or_declines(text: str) -> None:
    assert_agrees_or_declines(text)
