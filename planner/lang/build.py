"""lark syntax tree -> AST dataclasses (a Transformer; spans come from the tokens).

Every statement starts with a keyword token kept in the tree (see grammar/plan.lark), so a
statement's span runs from its keyword to its last token without lark's propagate_positions,
which cost ~40% of parse time on a 10,000-statement plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from lark import Token, Transformer, Tree
from lark.exceptions import VisitError

from planner.errors import PlannerError, Span
from planner.lang import ast


def _unquote(text: str) -> str:
    # STRING is "..." with backslash escapes of any character; keep the escaped character.
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _end(item: Token | ast.Word | tuple[ast.Word, ...]) -> tuple[int | None, int | None]:
    # Tests for the AST's types, not for lark.Token: lark-cython's tokens are another class.
    if isinstance(item, tuple):
        item = item[-1]
    if isinstance(item, ast.Word):
        return item.span.end_line, item.span.end_column
    return item.end_line, item.end_column


class _Builder(Transformer[Token, ast.Plan]):
    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename  # reassigned per parse by planner.lang.parser.parse_plan

    def _word(self, tok: Token, *, quoted: bool = False) -> ast.Word:
        text = _unquote(str(tok)) if quoted else str(tok)
        return ast.Word(text, Span(self.filename, tok.line or 1, tok.column or 1, tok.end_line, tok.end_column))

    def _span(self, first: Token, last: Token | ast.Word | tuple[ast.Word, ...]) -> Span:
        end_line, end_column = _end(last)
        return Span(self.filename, first.line or 1, first.column or 1, end_line, end_column)

    def start(self, children: list[Any]) -> ast.Plan:
        plan: ast.Plan = children[0]
        return plan

    def plan(self, children: list[Any]) -> ast.Plan:
        keyword, name_tok, *rest, rbrace = children
        description = None
        statements = []
        for child in rest:
            if isinstance(child, ast.Word):
                description = child
            else:
                statements.append(child)
        return ast.Plan(self._word(name_tok, quoted=True), description, tuple(statements), self._span(keyword, rbrace))

    def description(self, children: list[Token]) -> ast.Word:
        return self._word(children[0], quoted=True)

    def line(self, children: list[Any]) -> ast.Statement:
        label: ast.Word | None = None
        after: tuple[ast.Word, ...] = ()
        stmt: ast.Statement | None = None
        for child in children:
            if isinstance(child, tuple) and child and child[0] == "label":
                label = child[1]
            elif isinstance(child, tuple) and child and child[0] == "after":
                after = child[1]
            else:
                stmt = child
        assert stmt is not None  # the grammar requires a statement on every line
        if label is None and not after:
            return stmt
        return dataclasses.replace(stmt, label=label, after=after)

    def label(self, children: list[Token]) -> tuple[str, ast.Word]:
        return ("label", self._word(children[0]))

    def after(self, children: list[Token]) -> tuple[str, tuple[ast.Word, ...]]:
        return ("after", tuple(self._word(t) for t in children))

    def components(self, children: list[Token]) -> tuple[ast.Word, ...]:
        return tuple(self._word(t) for t in children)

    def ref(self, children: list[Token]) -> ast.Word:
        tok = children[0]
        return self._word(tok, quoted=tok.type == "STRING")

    def create(self, children: list[Any]) -> ast.Create:
        kw, comps, version, ref = children
        return ast.Create(comps, self._word(version), ref, self._span(kw, ref))

    def promote(self, children: list[Any]) -> ast.Promote:
        kw, comps, version, env = children
        return ast.Promote(comps, self._word(version), self._word(env), self._span(kw, env))

    def copy(self, children: list[Any]) -> ast.Copy:
        kw, comps, src, dst = children
        return ast.Copy(comps, self._word(src), self._word(dst), self._span(kw, dst))

    def rollback(self, children: list[Any]) -> ast.Rollback:
        kw, comps, env, *rest = children
        version = self._word(rest[0]) if rest else None
        return ast.Rollback(comps, self._word(env), version, self._span(kw, children[-1]))

    def verify(self, children: list[Any]) -> ast.VerifyStmt:
        kw, env, url, status, *rest = children
        within = self._word(rest[0]) if rest else None
        return ast.VerifyStmt(
            self._word(env), self._word(url, quoted=True), self._word(status), within, self._span(kw, children[-1])
        )

    def new_env(self, children: list[Any]) -> ast.NewEnvironment:
        kw, env = children
        return ast.NewEnvironment(self._word(env), self._span(kw, env))


def _mark_rule(cls: type[ast.MarkStatement]) -> Callable[[_Builder, list[Any]], ast.MarkStatement]:
    def build_mark(self: _Builder, children: list[Any]) -> ast.MarkStatement:
        kw, comps, version, *rest = children
        reason = self._word(rest[0], quoted=True) if rest else None
        return cls(comps, self._word(version), reason, self._span(kw, rest[0] if rest else version))

    return build_mark


for _rule, _cls in ast.MARK_STATEMENTS.items():  # one callback per statement of reject's shape
    setattr(_Builder, _rule, _mark_rule(_cls))


def build(tree: Tree[Token], filename: str) -> ast.Plan:
    """Transform a parse tree into the AST; errors raised inside arrive unwrapped."""
    try:
        return _Builder(filename).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, PlannerError):
            raise exc.orig_exc from None
        raise
