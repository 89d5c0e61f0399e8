"""The plan language: every diagnostic (exact message, line, column), ordering rules, examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import DiagnosticError
from planner.gitio import Repo
from planner.lang.compile import Inputs, compile_file, compile_text
from planner.model import ComponentRef, Version
from planner.steps import CreateVersion, MoveEnv, OrderedPlan, Override, Reject, Verify
from tests.fixtures_lang import LangFixture, build_lang_fixture

PLANS = Path(__file__).resolve().parents[1] / "plans"


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> LangFixture:
    return build_lang_fixture(tmp_path_factory.mktemp("lang"))


def plan(body: str) -> str:
    return 'plan "t" {\n' + body + "\n}\n"


def compile_(fx: LangFixture, text: str, **kw: object) -> OrderedPlan:
    return compile_text(text, "t.plan", Inputs(fx.registry, fx.state, fx.config, **kw))  # type: ignore[arg-type]


def errors(fx: LangFixture, text: str, **kw: object) -> list[tuple[str, int, int]]:
    with pytest.raises(DiagnosticError) as info:
        compile_(fx, text, **kw)
    return [(d.message, d.span.line, d.span.column) for d in info.value.diagnostics if d.severity == "error" and d.span]


def others(fx: LangFixture, text: str) -> list[tuple[str, str, int, int]]:
    out = compile_(fx, text)
    return [(d.severity, d.message, d.span.line, d.span.column) for d in out.diagnostics if d.span]


# ---- semantic diagnostics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  promote prompts/extration v1.0.0 to staging",
            [("unknown component 'prompts/extration' (did you mean 'prompts/extraction'?)", 2, 11)],
        ),
        (
            "  promote promts/extraction v1.0.0 to staging",
            [("unknown component type 'promts' (did you mean 'prompts'?)", 2, 11)],
        ),
        (
            "  promote extractoin v1.0.0 to staging",
            [("unknown component 'extractoin' (did you mean 'extraction'?)", 2, 11)],
        ),
        (
            "  promote extraction v1.0.0 to staging",
            [
                (
                    "ambiguous component 'extraction': it matches configs/extraction, prompts/extraction; write type/name",
                    2,
                    11,
                )
            ],
        ),
        ("  promote tools/* v1.0.0 to staging", [("pattern 'tools/*' matches no component", 2, 11)]),
        ("  promote tool/* v1.0.0 to staging", [("unknown component type 'tool' (did you mean 'tools'?)", 2, 11)]),
        (
            "  promote [prompts/summary, a/b/c] v1.0.0 to staging",
            [("invalid component reference 'a/b/c': expected type/name, e.g. prompts/extraction", 2, 29)],
        ),
        (
            "  promote prompts/extraction v9.0.0 to staging",
            [("version v9.0.0 of prompts/extraction does not exist and is not created by this plan", 2, 30)],
        ),
        (
            "  promote prompts/extraction v01.0.0 to staging",
            [
                (
                    "invalid version 'v01.0.0': expected v<major>.<minor>.<patch>[-prerelease], e.g. v1.2.0 or v1.2.0-rc.1",
                    2,
                    30,
                )
            ],
        ),
        (
            "  create prompts/extraction v1.1.0 at nosuchbranch",
            [("cannot resolve 'nosuchbranch' to a commit (not a branch, tag or commit)", 2, 39)],
        ),
        (
            "  create prompts/extraction v1.1.0 at -x",
            [("invalid git ref '-x': it starts with '-' and could be read as an option", 2, 39)],
        ),
        (
            '  create prompts/extraction v1.1.0 at "a b"',
            [("invalid git ref 'a b': it is empty or contains whitespace or control characters", 2, 39)],
        ),
        (
            "  create prompts/extraction v1.1.0 at main\n  create prompts/extraction v1.1.0 at main",
            [("version v1.1.0 of prompts/extraction is created twice (first at t.plan:2:3)", 3, 29)],
        ),
        (
            "  promote prompts/extraction v1.0.0 to prod",
            [("unknown environment 'prod' (did you mean 'production'?)", 2, 40)],
        ),
        (
            "  promote prompts/extraction v1.0.0 to Staging",
            [
                (
                    "invalid environment name 'Staging': it may contain only lowercase letters, digits, '-' and '_',"
                    " starting with a letter or digit",
                    2,
                    40,
                )
            ],
        ),
        (
            "  promote prompts/extraction v1.0.0 to dev\n  rollback prompts/* in dev to v1.0.0",
            [
                (
                    "prompts/extraction in dev is moved twice: by this statement and by the statement at t.plan:2:3",
                    3,
                    25,
                ),
                ("version v1.0.0 of prompts/summary does not exist and is not created by this plan", 3, 31),
            ][:1],
        ),
        (
            "  promote prompts/summary from staging to production",
            [
                (
                    "cannot promote prompts/summary from 'staging': it has no 'staging' tag on the remote"
                    " and this plan does not move it",
                    2,
                    32,
                )
            ],
        ),
        ("  promote prompts/summary from dev to dev", [("cannot promote from 'dev' to itself", 2, 39)]),
        (
            '  verify staging get "ftp://x" expect 200',
            [("verify URL must be an http:// or https:// URL with a host, got 'ftp://x'", 2, 22)],
        ),
        (
            '  verify staging get "https://" expect 200',
            [("verify URL must be an http:// or https:// URL with a host, got 'https://'", 2, 22)],
        ),
        (
            '  verify staging get "https://x" expect 999',
            [("invalid HTTP status '999': expected a number from 100 to 599", 2, 41)],
        ),
        (
            '  verify staging get "https://x" expect 200 within 0s',
            [("invalid duration '0s': expected a positive number with ms, s, m or h", 2, 52)],
        ),
        (
            '  verify qa get "https://x" expect 200',
            [("unknown environment 'qa'", 2, 10)],
        ),
        (
            "  rollback schemas/invoice in production",
            [
                (
                    "'rollback schemas/invoice in production' without a version needs the release ledger, which is"
                    " not available here; write 'rollback schemas/invoice in production to VERSION'",
                    2,
                    3,
                )
            ],
        ),
        (
            "  a: promote prompts/summary v1.0.0 to staging\n  a: promote prompts/extraction v1.0.0 to dev",
            [("duplicate label 'a' (first at t.plan:2:3)", 3, 3)],
        ),
        (
            "  first: promote prompts/summary v1.0.0 to staging\n  promote prompts/extraction v1.0.0 to dev after frist",
            [("unknown label 'frist' (did you mean 'first'?)", 3, 50)],
        ),
        (
            "  me: promote prompts/summary v1.0.0 to staging after me",
            [("statement 'me' cannot run after itself", 2, 55)],
        ),
    ],
)
def test_semantic_errors(fx: LangFixture, body: str, expected: list[tuple[str, int, int]]) -> None:
    assert errors(fx, plan(body)) == expected


def test_every_error_of_a_file_in_one_run(fx: LangFixture) -> None:
    text = plan(
        "  promote prompts/extration v1.0.0 to staging\n"
        "  promote prompts/summary v7.0.0 to prod\n"
        '  verify staging get "file:///etc/passwd" expect 200'
    )
    assert errors(fx, text) == [
        ("unknown component 'prompts/extration' (did you mean 'prompts/extraction'?)", 2, 11),
        ("unknown environment 'prod' (did you mean 'production'?)", 3, 37),
        ("verify URL must be an http:// or https:// URL with a host, got 'file:///etc/passwd'", 4, 22),
    ]


def test_create_of_existing_version_at_another_commit(fx: LangFixture) -> None:
    old, new = fx.commits["extraction1"][:12], fx.commits["extraction11"][:12]
    assert errors(fx, plan("  create prompts/extraction v1.0.0 at release/next")) == [
        (
            f"version v1.0.0 of prompts/extraction already exists at {old}; version tags are immutable"
            f" ('release/next' is {new})",
            2,
            29,
        )
    ]


def test_create_at_same_commit_is_a_warning_and_no_step(fx: LangFixture) -> None:
    text = plan(f"  create schemas/invoice v1.0.0 at {fx.commits['invoice1'][:10]}")
    out = compile_(fx, text)
    assert out.steps == ()
    assert [(d.severity, d.message, d.span.line, d.span.column) for d in out.diagnostics if d.span] == [
        ("warning", "version v1.0.0 of schemas/invoice already exists at this commit; nothing to create", 2, 26)
    ]


def test_warnings_and_notes(fx: LangFixture) -> None:
    text = plan(
        "  promote prompts/extraction v1.0.0 to staging\n"
        "  promote agents/router v1.0.0 to staging\n"
        "  promote prompts/* from staging to production"
    )
    assert others(fx, text) == [
        ("warning", "prompts/extraction in staging already points at v1.0.0; this promote changes nothing", 2, 40),
        ("note", "agents/router is a logic component: it needs a Worker rebuild and redeploy", 3, 3),
        ("note", "prompts/summary has no 'staging' tag; 'prompts/*' skips it", 4, 11),
        ("warning", "prompts/extraction in production already points at v1.0.0; this promote changes nothing", 4, 37),
    ]


def test_rendered_error_shows_source_line_and_caret(fx: LangFixture) -> None:
    with pytest.raises(DiagnosticError) as info:
        compile_(fx, plan("  promote prompts/extration v1.0.0 to staging"))
    assert info.value.render() == (
        "t.plan:2:11: error: unknown component 'prompts/extration' (did you mean 'prompts/extraction'?)\n"
        "      promote prompts/extration v1.0.0 to staging\n"
        "              ^~~~~~~~~~~~~~~~~"
    )


def test_cycle_is_an_error_naming_every_statement(fx: LangFixture) -> None:
    text = plan("  a: promote prompts/extraction v1.0.0 to dev after b\n  b: promote agents/analyzer v1.0.0 to dev")
    with pytest.raises(DiagnosticError) as info:
        compile_(fx, text)
    [d] = info.value.diagnostics
    assert d.message == (
        "dependency cycle: move agents/analyzer@dev --> move prompts/extraction@dev --> move agents/analyzer@dev"
    )
    assert (d.span.line, d.span.column) == (3, 6)  # type: ignore[union-attr]
    assert d.notes == ("move agents/analyzer@dev at t.plan:3:6", "move prompts/extraction@dev at t.plan:2:6")


# ---- rollback with a ledger -----------------------------------------------------------------


class FakeLedger:
    """A real EnvHistory implementation over a dict (the apply engineer's ledger implements the same)."""

    def __init__(self, data: dict[tuple[ComponentRef, str], tuple[str, Version | None]]) -> None:
        self.data = data

    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        return self.data.get((component, env))


def test_rollback_to_previous_uses_the_ledger(fx: LangFixture) -> None:
    inv = ComponentRef("schemas", "invoice")
    ledger = FakeLedger({(inv, "production"): (fx.commits["invoice09"], Version(0, 9, 0))})
    out = compile_(fx, plan("  rollback schemas/invoice in production"), ledger=ledger)
    [step] = out.steps
    assert isinstance(step, MoveEnv)
    assert (step.kind, step.commit, step.version) == ("rollback", fx.commits["invoice09"], Version(0, 9, 0))
    assert errors(fx, plan("  rollback schemas/invoice in staging"), ledger=ledger) == [
        ("the release ledger records no previous target of schemas/invoice in staging", 2, 3)
    ]


# ---- steps and ordering ---------------------------------------------------------------------


def test_create_then_promote_chain_uses_the_new_commit(fx: LangFixture) -> None:
    text = plan(
        "  promote prompts/extraction from staging to production\n"
        "  promote prompts/extraction from dev to staging\n"
        "  promote prompts/extraction v1.1.0 to dev\n"
        "  create prompts/extraction v1.1.0 at release/next"
    )
    out = compile_(fx, text)
    new = fx.commits["extraction11"]
    assert out.levels == (
        ("create prompts/extraction@v1.1.0",),
        ("move prompts/extraction@dev",),
        ("move prompts/extraction@staging",),
        ("move prompts/extraction@production",),
    )
    moves = [s for s in out.steps if isinstance(s, MoveEnv)]
    assert [(m.env, m.kind, m.from_env, m.commit, str(m.version)) for m in moves] == [
        ("dev", "promote", None, new, "v1.1.0"),
        ("staging", "copy", "dev", new, "v1.1.0"),
        ("production", "copy", "staging", new, "v1.1.0"),
    ]
    create = out.steps[0]
    assert isinstance(create, CreateVersion)
    assert (create.commit, create.at, create.prefix) == (new, "release/next", "components")


def test_dependencies_promote_after_used_rollback_before(fx: LangFixture) -> None:
    promote = compile_(fx, plan("  promote agents/router v1.0.0 to dev\n  promote agents/analyzer v2.0.0 to dev"))
    assert promote.levels == (("move agents/analyzer@dev",), ("move agents/router@dev",))
    rollback = compile_(
        fx, plan("  promote agents/analyzer v2.0.0 to production\n  rollback agents/router in production to v1.0.0")
    )
    assert rollback.levels == (("move agents/router@production",), ("move agents/analyzer@production",))
    router = next(s for s in rollback.steps if isinstance(s, MoveEnv) and s.component.name == "router")
    assert router.prefix == "logic"


def test_verify_runs_after_every_move_into_its_env(fx: LangFixture) -> None:
    text = plan(
        '  verify staging get "http://127.0.0.1:8080/health" expect 200 within 1.5s\n'
        "  promote agents/analyzer v2.0.0 to staging\n"
        "  promote prompts/summary v1.0.0 to staging\n"
        "  promote prompts/extraction v1.0.0 to dev"
    )
    out = compile_(fx, text)
    assert out.levels == (
        ("move agents/analyzer@staging", "move prompts/extraction@dev", "move prompts/summary@staging"),
        ("verify staging#0",),
    )
    verify = out.steps[-1]
    assert isinstance(verify, Verify)
    assert (verify.url, verify.expect, verify.within_seconds) == ("http://127.0.0.1:8080/health", 200, 1.5)


def test_order_is_deterministic_and_independent_of_line_order(fx: LangFixture) -> None:
    lines = [
        "  promote agents/analyzer v2.0.0 to staging",
        "  promote prompts/summary v1.0.0 to staging",
        "  create prompts/extraction v1.1.0 at release/next",
        "  promote prompts/extraction v1.1.0 to staging",
        "  rollback schemas/invoice in production to v0.9.0",
    ]
    first = compile_(fx, plan("\n".join(lines)))
    again = compile_(fx, plan("\n".join(reversed(lines))))
    assert first.levels == again.levels
    assert [s.id for s in first.steps] == [s.id for s in again.steps]
    assert first.levels == (
        ("create prompts/extraction@v1.1.0", "move prompts/summary@staging", "move schemas/invoice@production"),
        ("move prompts/extraction@staging",),
        ("move agents/analyzer@staging",),
    )


def test_lists_globs_and_bare_names(fx: LangFixture) -> None:
    out = compile_(
        fx, plan("  promote [summary, schemas/invoice,] v1.0.0 to dev\n  promote agents/* v1.0.0 to production")
    )
    assert sorted(s.id for s in out.steps) == [
        "move agents/analyzer@production",
        "move agents/router@production",
        "move prompts/summary@dev",
        "move schemas/invoice@dev",
    ]


# ---- reject / override (policy marks) ------------------------------------------------------


def test_reject_and_override_become_marks_outside_the_graph(fx: LangFixture) -> None:
    out = compile_(
        fx,
        plan(
            '  reject [summary, agents/ana*] v1.0.0 "bad dates"\n'
            "  promote agents/analyzer v2.0.0 to staging\n"
            "  override prompts/extraction v1.0.0\n"
            '  reject prompts/summary v1.0.0 "a repeat: the first wins"'
        ),
    )
    summ, ana = ComponentRef("prompts", "summary"), ComponentRef("agents", "analyzer")
    ext = ComponentRef("prompts", "extraction")
    v1 = Version.parse("v1.0.0")
    assert out.levels == (("move agents/analyzer@staging",),)
    assert [s.id for s in out.steps] == ["move agents/analyzer@staging"]
    assert [m.id for m in out.marks] == [
        "reject prompts/summary@v1.0.0",
        "reject agents/analyzer@v1.0.0",
        "override prompts/extraction@v1.0.0",
    ]
    assert out.marks == (
        Reject(summ, v1, "bad dates", out.marks[0].span),
        Reject(ana, v1, "bad dates", out.marks[0].span),
        Override(ext, v1, "", out.marks[2].span),
    )
    span = out.marks[0].span
    assert span is not None and (span.file, span.line, span.column) == ("t.plan", 2, 3)
    assert not [e for e in out.edges if any(x.startswith(("reject", "override")) for x in e)]


def test_mark_errors_are_positioned_and_reported_with_the_others(fx: LangFixture) -> None:
    text = plan(
        "  reject prompts/extraction v9.9.9\n"
        "  override extractoin v1.0.0\n"
        "  reject prompts/* v1.1.0\n"  # only router has v1.1.0, and it is not a prompt
        "  promote prompts/summary v1.0.0 to prod"
    )
    assert errors(fx, text) == [
        ("reject prompts/extraction v9.9.9: that version has no tag on the remote", 2, 29),
        ("unknown component 'extractoin' (did you mean 'extraction'?)", 3, 12),
        ("reject prompts/extraction v1.1.0: that version has no tag on the remote", 4, 20),
        ("reject prompts/summary v1.1.0: that version has no tag on the remote", 4, 20),
        ("unknown environment 'prod' (did you mean 'production'?)", 5, 37),
    ]


def test_compile_file_missing(fx: LangFixture, tmp_path: Path) -> None:
    with pytest.raises(DiagnosticError) as info:
        compile_file(tmp_path / "nope.plan", Inputs(fx.registry, fx.state, fx.config))
    assert info.value.diagnostics[0].message == "no such plan file"


# ---- the example plans (golden step order) --------------------------------------------------

GOLDEN: dict[str, tuple[tuple[str, ...], ...]] = {
    "after.plan": (("move schemas/invoice@staging",), ("move agents/router@staging",)),
    "copy.plan": (("move prompts/extraction@production",),),
    "create.plan": (("create prompts/extraction@v1.1.0",),),
    "promote.plan": (("move agents/analyzer@staging",),),
    "rollback.plan": (("move schemas/invoice@production",),),
    "reject.plan": (("move agents/analyzer@staging",),),
    "verify.plan": (("move prompts/summary@staging",), ("verify staging#0",)),
    "release.plan": (
        ("create prompts/extraction@v1.1.0", "move prompts/summary@dev", "move schemas/invoice@production"),
        ("move prompts/extraction@staging",),
        ("move agents/analyzer@staging",),
        ("verify staging#0", "verify staging#1"),
        ("move prompts/extraction@production",),
        ("move agents/analyzer@production",),
    ),
}


# reject/override marks: OrderedPlan.marks, in statement order; in no level.
GOLDEN_MARKS: dict[str, tuple[str, ...]] = {
    "reject.plan": ("reject agents/analyzer@v1.0.0", "override agents/analyzer@v2.0.0"),
}


def test_every_example_plan_compiles_with_golden_order(fx: LangFixture) -> None:
    files = sorted(p.name for p in PLANS.glob("*.plan"))
    assert files == sorted(GOLDEN)
    for name in files:
        out = compile_file(PLANS / name, Inputs(fx.registry, fx.state, fx.config))
        assert out.levels == GOLDEN[name], name
        assert [s.id for s in out.steps] == [sid for level in GOLDEN[name] for sid in level]
        assert [m.id for m in out.marks] == list(GOLDEN_MARKS.get(name, ())), name
        assert not [d for d in out.diagnostics if d.severity == "error"]


def test_all_refs_resolved_in_one_batched_git_call(fx: LangFixture) -> None:
    from planner.lang.passes.creates import git_ref_resolver

    real = git_ref_resolver(Repo(fx.config.root))
    calls: list[list[str]] = []

    def counting(refs: list[str]) -> object:
        calls.append(list(refs))
        return real(refs)

    text = plan(
        "  create prompts/extraction v1.1.0 at release/next\n"
        "  create prompts/summary v2.0.0 at components/schemas/invoice/v1.0.0\n"  # annotated tag: peeled
        f"  create schemas/invoice v2.0.0 at {fx.commits['invoice09'][:8]}\n"  # abbreviated commit
        "  create agents/analyzer v3.0.0 at main\n"
        "  create agents/router v2.0.0 at main"
    )
    out = compile_(fx, text, resolve_refs=counting)
    assert calls == [["release/next", "components/schemas/invoice/v1.0.0", fx.commits["invoice09"][:8], "main"]]
    got = {s.id: s.commit for s in out.steps if isinstance(s, CreateVersion)}
    assert got == {
        "create prompts/extraction@v1.1.0": fx.commits["extraction11"],
        "create prompts/summary@v2.0.0": fx.commits["invoice1"],
        "create schemas/invoice@v2.0.0": fx.commits["invoice09"],
        "create agents/analyzer@v3.0.0": fx.commits["extraction11"],
        "create agents/router@v2.0.0": fx.commits["extraction11"],
    }
    router = next(s for s in out.steps if isinstance(s, CreateVersion) and s.component.name == "router")
    assert router.prefix == "logic"


def test_refs_outside_a_git_repository(fx: LangFixture, tmp_path: Path) -> None:
    from planner.config import PlannerConfig

    config = PlannerConfig(root=tmp_path, environments=fx.config.environments)
    with pytest.raises(DiagnosticError) as info:
        compile_text(
            plan("  create prompts/extraction v1.1.0 at main"),
            "t.plan",
            Inputs(fx.registry, fx.state, config),
        )
    [d] = info.value.diagnostics
    assert d.message.startswith("cannot resolve git refs: git cat-file failed")
    assert (d.span.line, d.span.column) == (2, 39)  # type: ignore[union-attr]


def test_compile_file_not_utf8(fx: LangFixture, tmp_path: Path) -> None:
    bad = tmp_path / "bin.plan"
    bad.write_bytes(b'plan "x" { \xff }')
    with pytest.raises(DiagnosticError) as info:
        compile_file(bad, Inputs(fx.registry, fx.state, fx.config))
    [d] = info.value.diagnostics
    assert d.message == "not UTF-8 text: byte 0xff at byte offset 11 (line 1)"
    assert d.span is not None and (d.span.file, d.span.line, d.span.column) == (str(bad), 1, 12)


def test_networkx_is_imported_only_by_planner_graph() -> None:
    root = Path(__file__).resolve().parents[1] / "planner"
    importers = sorted(
        str(p.relative_to(root)) for p in root.rglob("*.py") if "import networkx" in p.read_text(encoding="utf-8")
    )
    assert importers == ["graph.py"]
