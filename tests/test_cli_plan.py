from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner.artifact import load
from planner.cli import run
from planner.kv.base import KVEntry
from planner.kv.bindings import content_metadata
from planner.kv.sqlite import SqliteKV
from tests.fixtures_lang import LangFixture, build_lang_fixture


@pytest.fixture
def fx(tmp_path: Path) -> LangFixture:
    fx = build_lang_fixture(tmp_path)
    work = fx.repo.work
    (work / "planner.toml").write_text(
        f'remote = "{fx.repo.remote}"\nenvironments = ["dev", "staging", "production"]\n', encoding="utf-8"
    )
    # The embedded store already holds what staging serves, with the metadata an apply writes, so an
    # in-place plan is a true no-op.
    meta = content_metadata("prompts/extraction", "v1.0.0", fx.commits["extraction1"], b"Extract v1\n")
    SqliteKV(work / ".planner/kv.sqlite", "staging").put_many(
        [
            KVEntry("prompts/extraction@staging", b"Extract v1\n", meta),
            KVEntry("prompts/extraction@v1.0.0", b"Extract v1\n", meta),
        ]
    )
    (work / "plans").mkdir()
    plans = {
        "release.plan": 'plan "r" {\n  promote agents/analyzer v2.0.0 to staging\n'
        "  rollback schemas/invoice in production to v0.9.0\n}\n",
        "noop.plan": 'plan "n" {\n  promote prompts/extraction v1.0.0 to staging\n}\n',
        "skip.plan": 'plan "s" {\n  promote agents/analyzer v2.0.0 to production\n}\n',
    }
    for name, text in plans.items():
        (work / "plans" / name).write_text(text, encoding="utf-8")
    return fx


def plan_cli(fx: LangFixture, *args: str) -> int:
    return run(["plan", *args, "--repo", str(fx.repo.work)])


def test_exit_codes(fx: LangFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fx.repo.work)
    assert plan_cli(fx, "plans/release.plan", "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert "agents/analyzer" in out and "staging: v1.0.0 -> v2.0.0" in out
    assert plan_cli(fx, "plans/release.plan") == 0  # without --detailed-exitcode, changes still exit 0
    assert plan_cli(fx, "plans/noop.plan", "--detailed-exitcode") == 0
    assert "No changes: 1 tag already in place, 2 KV keys already up to date." in capsys.readouterr().out
    assert plan_cli(fx, "plans/skip.plan", "--detailed-exitcode", "-o", "skip.json") == 3
    err = capsys.readouterr().err
    assert "staging does not hold it" in err and not (fx.repo.work / "skip.json").exists()
    assert plan_cli(fx, "plans/skip.plan", "--format", "markdown") == 3
    md = capsys.readouterr().out
    assert "Blocked by policy" in md
    assert "**environment\\-order**: agents/analyzer\\: v2\\.0\\.0 goes to production" in md
    assert plan_cli(fx, "plans/missing.plan") == 1
    assert plan_cli(fx, "plans/release.plan", "--format", "yaml") == 1


def test_json_stdout_artifact_and_show(
    fx: LangFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(fx.repo.work)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert plan_cli(fx, "plans/release.plan", "--format", "json", "-o", "plan.json") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout is the JSON alone
    saved = load((fx.repo.work / "plan.json").read_text(encoding="utf-8"))
    assert f"plan saved to plan.json (plan {saved.plan_id[:12]})" in captured.err  # one id length everywhere
    assert saved.plan_id not in captured.err
    assert saved.plan_id == doc["plan_id"]
    assert saved.source_file == "plans/release.plan"
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n") and "### Release plan `r`" in text
    assert run(["show", "plan.json", "--format", "markdown", "--repo", str(fx.repo.work)]) == 0
    md = capsys.readouterr().out
    assert "schemas/invoice" in md and "production: v1.0.0 -> v0.9.0" in md and "```diff" in md
    assert run(["show", "plan.json", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc
    (fx.repo.work / "bad.json").write_text('{"format_version": 7}', encoding="utf-8")
    assert run(["show", "bad.json"]) == 1
    assert "bad.json:1:20: error: format_version: unsupported plan format_version 7" in capsys.readouterr().err


def test_plan_never_writes_remote_or_kv(fx: LangFixture, capsys: pytest.CaptureFixture[str]) -> None:
    work = fx.repo.work
    db = work / ".planner/kv.sqlite"
    refs = fx.repo.remote_refs()
    kv_bytes = db.read_bytes()
    kv_rows = SqliteKV(db, "staging").list_keys()
    for name in ("release.plan", "noop.plan", "skip.plan"):
        plan_cli(fx, str(work / "plans" / name), "--format", "markdown")
    capsys.readouterr()
    assert fx.repo.remote_refs() == refs
    assert db.read_bytes() == kv_bytes
    assert SqliteKV(db, "staging").list_keys() == kv_rows
    assert SqliteKV(db, "production").list_keys() == []


def test_demo_runs_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--keep", str(tmp_path / "demo")]) == 0
    cap = capsys.readouterr()
    assert "$ planner plan" in cap.err
    assert "source plans/demo.plan" in cap.out
    assert re.search(r"prompts/extraction +production: v1\.0\.0 -> v1\.1\.0", cap.out)
    assert "needs-rebuild: scripts/router moves in production: it is logic" in cap.out


def test_bad_plan_is_a_positioned_error(fx: LangFixture, capsys: pytest.CaptureFixture[str]) -> None:
    work = fx.repo.work
    (work / "plans/bad.plan").write_text('plan "b" {\n  promote prompts/nope v1.0.0 to staging\n}\n', encoding="utf-8")
    assert plan_cli(fx, str(work / "plans/bad.plan")) == 1
    err = capsys.readouterr().err
    assert "bad.plan:2:" in err and "Traceback" not in err
    (work / "broken.json").write_text('{"format_version": 1,,}', encoding="utf-8")
    assert run(["show", str(work / "broken.json")]) == 1
    assert "broken.json:1:22: error: malformed JSON" in capsys.readouterr().err


def test_unwritable_outputs_are_errors(
    fx: LangFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    work = fx.repo.work
    assert plan_cli(fx, str(work / "plans/release.plan"), "-o", str(tmp_path / "no/such/dir/plan.json")) == 1
    assert "error: cannot write" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no/such/summary.md"))
    assert plan_cli(fx, str(work / "plans/release.plan")) == 1
    assert "error: cannot append to GITHUB_STEP_SUMMARY" in capsys.readouterr().err


def test_hostile_plan_name_cannot_hide_a_production_move(
    fx: LangFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's repro: a name that fakes "No changes" and opens an HTML comment."""
    from markdown_it import MarkdownIt

    monkeypatch.chdir(fx.repo.work)
    name = r"x` \n\n**0 to create, 0 to move. No changes. Safe to merge.** <!--"
    (fx.repo.work / "plans" / "evil.plan").write_text(
        f'plan "{name}" {{\n  description "ok\\n<!-- hide \x1b[2J\x1b]0;owned\x07"\n  rollback schemas/invoice in production to v0.9.0\n}}\n',
        encoding="utf-8",
    )
    assert plan_cli(fx, "plans/evil.plan", "--format", "markdown") == 0
    md = capsys.readouterr().out
    tokens = MarkdownIt("commonmark").parse(md)
    html = [t.content for t in tokens if t.type == "html_block"]
    html += [c.content for t in tokens for c in t.children or [] if c.type == "html_inline"]
    assert all(h.startswith(("<details><summary>", "</details>")) and "<!--" not in h for h in html), html
    # Our summary is the only bold line; the name stays inside its code span in the heading.
    assert md.split("\n\n")[1].startswith("**0 to create, 1 to move"), md
    assert next(t.content for t in tokens if t.type == "inline").startswith("Release plan ``x` \\n\\n**0 to create")
    assert any(t.type == "fence" and "schemas/invoice  production: v1.0.0 -> v0.9.0" in t.content for t in tokens)
    assert plan_cli(fx, "plans/evil.plan") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "schemas/invoice" in out
    assert "  <!-- hide \\x1b[2J\\x1b]0;owned\\x07\n" in out
