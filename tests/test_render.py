from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from planner.changes import ComputedPlan
from planner.diff import ContentChange, compute_plan, content_changes
from planner.registry import load_registry
from planner.render.json import render_json
from planner.render.markdown import content_diff, render_markdown
from planner.render.text import render_text, use_color
from planner.state import snapshot
from tests.release_fixture import Release, build_release, ordered_plan

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def rel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    return build_release(tmp_path, monkeypatch)


def compute(rel: Release) -> ComputedPlan:
    work = rel.repo.work
    return compute_plan(
        ordered_plan(rel),
        repo=work,
        registry=load_registry(work),
        state=snapshot("origin", work),
        targets=rel.targets(),
    )


def normalise(text: str, rel: Release, plan: ComputedPlan) -> str:
    # Commits and tags are reproducible (fixed dates); the temp dir, and so the plan id, are not.
    text = text.replace(str(rel.repo.remote.parent), "<TMP>")
    return text.replace(plan.plan_id, "<PLAN_ID>").replace(plan.plan_id[:12], "<PLAN_ID12>")


def check_golden(name: str, text: str) -> None:
    file = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        file.write_text(text, encoding="utf-8")
    assert text == file.read_text(encoding="utf-8"), f"rendering differs from {file} (UPDATE_GOLDEN=1 to accept)"


def test_text_golden(rel: Release) -> None:
    plan = compute(rel)
    check_golden("release.txt", normalise(render_text(plan), rel, plan))


def test_markdown_golden(rel: Release) -> None:
    plan = compute(rel)
    changes = content_changes(plan, rel.repo.work, load_registry(rel.repo.work))
    md = render_markdown(plan, changes)
    assert re.search(r"\nprompts/extraction +staging: v1\.0\.0 -> v1\.1\.0\n", md)
    assert "<details><summary>prompts/extraction  staging: v1.0.0 -> v1.1.0</summary>" in md
    assert "-Be brief.\n+Return JSON.\n" in md
    check_golden("release.md", normalise(md, rel, plan))


def test_json_golden(rel: Release) -> None:
    plan = compute(rel)
    check_golden("release.json", normalise(render_json(plan), rel, plan))


def test_color_only_when_asked(rel: Release) -> None:
    plan = compute(rel)
    assert "\x1b[" in render_text(plan, color=True) and "\x1b[" not in render_text(plan)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_color(Tty(), {}) is True
    assert use_color(Tty(), {"NO_COLOR": "1"}) is False
    assert use_color(io.StringIO(), {}) is False


def test_binary_and_fences() -> None:
    binary = ContentChange(
        "configs/model", "staging", "v1.0.0", "v1.1.0", "m.bin", "m.bin", b"\x00\x01", b"\x00\x02\x03"
    )
    assert content_diff(binary) == "binary content changed, 3 bytes"
    ticks = ContentChange("prompts/x", "staging", None, "v1.0.0", None, "x.md", None, b"use ````code````\n")
    assert content_diff(ticks).startswith("--- /dev/null\n+++ b/x.md@v1.0.0\n")
    no_eol = ContentChange("prompts/x", "staging", "v1", "v2", "x.md", "x.md", b"a\n", b"a\nb")
    assert "\\ No newline at end of file" in content_diff(no_eol)
