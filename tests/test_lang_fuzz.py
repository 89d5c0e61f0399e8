"""Fuzzing the parser and compiler: random text, token soup, and valid plans mutated by deleting,
duplicating and swapping tokens. Nothing may escape but the project's DiagnosticError.

10,350 cases in total (fixed per-test profiles), ~25 s CPU on the shared 2-core machine: marked slow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import DiagnosticError
from planner.gitio import Repo
from planner.lang.compile import Inputs, compile_text
from planner.lang.passes.creates import git_ref_resolver
from planner.model import ComponentRef, Version
from tests.fixtures_lang import LangFixture, build_lang_fixture

PLANS = Path(__file__).resolve().parents[1] / "plans"


def fuzz(n: int) -> settings:
    """A dedicated profile: fixed example counts regardless of the dev/ci profile."""
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


TOKENS = [
    "plan",
    '"p"',
    "{",
    "}",
    "description",
    '"d"',
    "create",
    "promote",
    "rollback",
    "verify",
    "at",
    "to",
    "from",
    "in",
    "get",
    "expect",
    "within",
    "after",
    "[",
    "]",
    ",",
    ":",
    "prompts/extraction",
    "agents/*",
    "*",
    "summary",
    "extraction",
    "v1.0.0",
    "v1.1.0",
    "v2.0.0",
    "v0.9.0",
    "v01.0.0",
    "staging",
    "production",
    "dev",
    "prod",
    "main",
    "release/next",
    "-x",
    '"https://x/health"',
    '"ftp://x"',
    "200",
    "999",
    "30s",
    "0s",
    "lbl",
    "#c\n",
    "\n",
    "schemas/invoice",
    "agents/router",
    "[summary,",
    "1.0.0",
]


class Ledger:
    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        return ("0" * 40, None) if env == "production" else None


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> LangFixture:
    return build_lang_fixture(tmp_path_factory.mktemp("fuzz"))


def _memory_refs(fx: LangFixture) -> object:
    known = {"main": fx.commits["extraction11"], "release/next": fx.commits["extraction11"]}

    def resolve(refs: Sequence[str]) -> Mapping[str, str | None]:
        return {r: known.get(r) for r in refs}

    return resolve


def _compile(fx: LangFixture, text: str, *, ledger: bool = False, git: bool = False) -> None:
    resolver = git_ref_resolver(Repo(fx.config.root)) if git else _memory_refs(fx)
    try:
        out = compile_text(
            text,
            "fuzz.plan",
            Inputs(fx.registry, fx.state, fx.config, Ledger() if ledger else None, resolver),  # type: ignore[arg-type]
        )
    except DiagnosticError as exc:
        assert exc.diagnostics, "a DiagnosticError must carry at least one diagnostic"
        exc.render()  # rendering must not fail either
        for d in exc.diagnostics:
            d.github()
        return
    # A plan that compiles is internally consistent: every step is in exactly one level.
    assert sorted(s.id for s in out.steps) == sorted(i for level in out.levels for i in level)


def _tokens(text: str) -> list[str]:
    return re.findall(r'"[^"\n]*"|#[^\n]*\n|\s+|[\[\]{},:]|[^\s\[\]{},:"#]+', text)


SEEDS = [_tokens(p.read_text()) for p in sorted(PLANS.glob("*.plan"))]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    toks = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not toks:
            break
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        i = draw(st.integers(0, len(toks) - 1))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            toks.insert(i, " " + draw(st.sampled_from(TOKENS)) + " ")
    return "".join(toks)


@pytest.mark.slow
@fuzz(3000)
@given(st.text(max_size=200))
def test_random_text(fx: LangFixture, text: str) -> None:
    _compile(fx, text)


@pytest.mark.slow
@fuzz(3000)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup(fx: LangFixture, toks: list[str]) -> None:
    _compile(fx, 'plan "p" { ' + " ".join(toks) + " }", ledger=True)


@pytest.mark.slow
@fuzz(4200)
@given(mutated())
def test_mutated_valid_plans(fx: LangFixture, text: str) -> None:
    _compile(fx, text, ledger=True)


@fuzz(150)
@given(st.text(st.characters(codec="utf-8", exclude_characters='"\\\n'), min_size=0, max_size=30))
def test_hostile_refs_through_real_git(fx: LangFixture, ref: str) -> None:
    """Any quoted ref goes to the real batched git lookup (or is refused) without escaping errors."""
    _compile(fx, 'plan "p" {\n  create prompts/extraction v1.1.0 at "' + ref + '"\n}', git=True)
