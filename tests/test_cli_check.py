"""`planner check` and `planner graph` against a real repository and bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli import run
from tests.fixtures_lang import LangFixture, build_lang_fixture


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> LangFixture:
    fx = build_lang_fixture(tmp_path_factory.mktemp("cli"))
    work = fx.repo.work
    (work / "planner.toml").write_text('environments = ["dev", "staging", "production"]\nremote = "origin"\n')
    (work / "plans").mkdir()
    (work / "plans/good.plan").write_text(
        'plan "good" {\n  promote prompts/summary v1.0.0 to dev\n  promote agents/analyzer v2.0.0 to staging\n'
        '  verify staging get "https://s.example/health" expect 200\n}\n'
    )
    (work / "plans/bad.plan").write_text(
        'plan "bad" {\n  promote prompts/extration v1.0.0 to staging\n  verify prod get "ftp://x" expect 200\n}\n'
    )
    (work / "plans/syntax.plan").write_text('plan "s" {\n  promote prompts/summary v1.0.0 dev\n}\n')
    return fx


@pytest.fixture
def in_repo(fx: LangFixture, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(fx.repo.work)
    return fx.repo.work


def test_check_clean_plan_prints_warnings_and_exits_0(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "plans/good.plan"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "plans/good.plan:2:37: warning: prompts/summary in dev already points at v1.0.0; this promote changes nothing",
        "      promote prompts/summary v1.0.0 to dev",
        "                                        ^~~",
    ]
    assert err == "checked 1 plan(s): 0 error(s), 1 warning(s)\n"


def test_check_reports_every_error_of_every_plan(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "plans/bad.plan", "plans/syntax.plan", "plans/good.plan"]) == 1
    out, err = capsys.readouterr()
    heads = [line for line in out.splitlines() if line.startswith("plans/")]
    assert heads == [
        "plans/bad.plan:2:11: error: unknown component 'prompts/extration' (did you mean 'prompts/extraction'?)",
        "plans/bad.plan:3:10: error: unknown environment 'prod' (did you mean 'production'?)",
        "plans/bad.plan:3:19: error: verify URL must be an http:// or https:// URL with a host, got 'ftp://x'",
        "plans/syntax.plan:2:34: error: syntax error: missing 'to' before the environment"
        " (write: promote C VERSION to ENV)",
        "plans/good.plan:2:37: warning: prompts/summary in dev already points at v1.0.0; this promote changes nothing",
    ]
    assert "  note: planner.toml lists: dev, staging, production" in out
    assert err == "checked 3 plan(s): 4 error(s), 1 warning(s)\n"


def test_check_github_annotations(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "--format", "github", "plans/bad.plan"]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == (
        "::error file=plans/bad.plan,line=2,col=11::unknown component 'prompts/extration'"
        " (did you mean 'prompts/extraction'?)"
    )
    assert len(out.splitlines()) == 3


def test_check_explicit_remote_and_repo(fx: LangFixture, capsys: pytest.CaptureFixture[str]) -> None:
    work = fx.repo.work
    argv = ["check", str(work / "plans/good.plan"), "--repo", str(work), "--remote", str(fx.repo.remote)]
    assert run(argv) == 0
    assert capsys.readouterr().err == "checked 1 plan(s): 0 error(s), 1 warning(s)\n"


def test_check_bad_format_is_a_usage_error(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "--format", "xml", "plans/good.plan"]) == 1
    assert "Invalid value for '--format': 'xml' is not one of 'text', 'github'." in capsys.readouterr().err


def test_graph_formats(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "plans/good.plan"]) == 0
    assert capsys.readouterr().out == (
        "level 1:\n"
        "  promote agents/analyzer in staging\n"
        "  promote prompts/summary in dev\n"
        "level 2:\n"
        "  verify staging: GET https://s.example/health   (after promote agents/analyzer in staging)\n"
    )  # steps in the dry run's words, never internal ids (`move agents/analyzer@staging`, `verify staging#0`)
    assert run(["graph", "plans/good.plan", "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph plan {\n")
    assert '  "promote agents/analyzer in staging" -> "verify staging: GET https://s.example/health";\n' in dot
    assert run(["graph", "plans/good.plan", "--format", "mermaid"]) == 0
    assert capsys.readouterr().out == (
        "flowchart LR\n"
        '  s0["promote agents/analyzer in staging"]\n'
        '  s1["promote prompts/summary in dev"]\n'
        '  s2["verify staging: GET https://s.example/health"]\n'
        "  s0 --> s2\n"
    )


def test_graph_of_a_broken_plan_exits_1(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "plans/bad.plan"]) == 1
    assert "plans/bad.plan:2:11: error: unknown component" in capsys.readouterr().err
