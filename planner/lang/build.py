"""lark syntax tree -> AST dataclasses (a Transformer with positions from ``meta``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from planner.errors import PlannerError, Span
from planner.lang import ast


def _unquote(text: str) -> str:
    # STRING is "..." with backslash escapes of any character; keep the escaped character.
    body = text[1:-1]
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


class _Builder(Transformer[Token, ast.Plan]):
    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename

    def _span(self, meta: Meta) -> Span:
        return Span(self.filename, meta.line, meta.column, meta.end_line, meta.end_column)

    def _word(self, tok: Token, *, quoted: bool = False) -> ast.Word:
        text = _unquote(str(tok)) if quoted else str(tok)
        return ast.Word(text, Span(self.filename, tok.line or 1, tok.column or 1, tok.end_line, tok.end_column))

    @v_args(meta=True)
    def start(self, meta: Meta, children: list[Any]) -> ast.Plan:
        plan: ast.Plan = children[0]
        return plan

    @v_args(meta=True)
    def plan(self, meta: Meta, children: list[Any]) -> ast.Plan:
        name = self._word(children[0], quoted=True)
        description = None
        statements = []
        for child in children[1:]:
            if isinstance(child, ast.Word):
                description = child
            elif isinstance(child, Token):  # braces are filtered; nothing else is a bare token
                continue
            else:
                statements.append(child)
        return ast.Plan(name, description, tuple(statements), self._span(meta))

    @v_args(meta=True)
    def description(self, meta: Meta, children: list[Token]) -> ast.Word:
        return self._word(children[0], quoted=True)

    @v_args(meta=True)
    def line(self, meta: Meta, children: list[Any]) -> ast.Statement:
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
        return dataclasses.replace(stmt, label=label, after=after)

    @v_args(meta=True)
    def label(self, meta: Meta, children: list[Token]) -> tuple[str, ast.Word]:
        return ("label", self._word(children[0]))

    @v_args(meta=True)
    def after(self, meta: Meta, children: list[Token]) -> tuple[str, tuple[ast.Word, ...]]:
        return ("after", tuple(self._word(t) for t in children))

    @v_args(meta=True)
    def components(self, meta: Meta, children: list[Token]) -> tuple[ast.Word, ...]:
        return tuple(self._word(t) for t in children)

    @v_args(meta=True)
    def ref(self, meta: Meta, children: list[Token]) -> ast.Word:
        tok = children[0]
        return self._word(tok, quoted=tok.type == "STRING")

    @v_args(meta=True)
    def create(self, meta: Meta, children: list[Any]) -> ast.Create:
        comps, version, ref = children
        return ast.Create(comps, self._word(version), ref, self._span(meta))

    @v_args(meta=True)
    def promote(self, meta: Meta, children: list[Any]) -> ast.Promote:
        comps, version, env = children
        return ast.Promote(comps, self._word(version), self._word(env), self._span(meta))

    @v_args(meta=True)
    def copy(self, meta: Meta, children: list[Any]) -> ast.Copy:
        comps, src, dst = children
        return ast.Copy(comps, self._word(src), self._word(dst), self._span(meta))

    @v_args(meta=True)
    def rollback(self, meta: Meta, children: list[Any]) -> ast.Rollback:
        comps, env, *rest = children
        version = self._word(rest[0]) if rest else None
        return ast.Rollback(comps, self._word(env), version, self._span(meta))

    @v_args(meta=True)
    def verify(self, meta: Meta, children: list[Any]) -> ast.VerifyStmt:
        env, url, status, *rest = children
        within = self._word(rest[0]) if rest else None
        return ast.VerifyStmt(
            self._word(env), self._word(url, quoted=True), self._word(status), within, self._span(meta)
        )

    @v_args(meta=True)
    def reject(self, meta: Meta, children: list[Any]) -> ast.Reject:
        comps, version, *rest = children
        reason = self._word(rest[0], quoted=True) if rest else None
        return ast.Reject(comps, self._word(version), reason, self._span(meta))

    @v_args(meta=True)
    def override(self, meta: Meta, children: list[Any]) -> ast.Override:
        comps, version, *rest = children
        reason = self._word(rest[0], quoted=True) if rest else None
        return ast.Override(comps, self._word(version), reason, self._span(meta))


def build(tree: Tree[Token], filename: str) -> ast.Plan:
    """Transform a parse tree into the AST; errors raised inside arrive unwrapped."""
    try:
        return _Builder(filename).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, PlannerError):
            raise exc.orig_exc from None
        raise
