from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from planner.gitio import Remote, Repo
from planner.plan.changes import ComputedPlan
from planner.plan.diff import ContentChange, compute_plan, content_changes
from planner.registry import load_registry
from planner.render.common import visible
from planner.render.json import render_json
from planner.render.markdown import content_diff, md_code, md_text, render_markdown
from planner.render.review import RenderContext
from planner.render.text import render_text, use_color
from planner.state import snapshot
from tests.release_fixture import ENVS, Release, build_release, ordered_plan

GOLDEN = Path(__file__).parent / "golden"
CTX = RenderContext(protected=frozenset({"production"}), order=ENVS)


@pytest.fixture
def rel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    return build_release(tmp_path, monkeypatch)


def compute(rel: Release) -> ComputedPlan:
    work = rel.repo.work
    return compute_plan(
        ordered_plan(rel),
        repo=Repo(work),
        registry=load_registry(work),
        state=snapshot(Repo(work), Remote("origin")),
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
    check_golden("release.txt", normalise(render_text(plan, context=CTX), rel, plan))


def test_markdown_golden(rel: Release) -> None:
    plan = compute(rel)
    changes = content_changes(plan, Repo(rel.repo.work), load_registry(rel.repo.work))
    md = render_markdown(plan, changes, context=CTX)
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


# --- hostile text from a plan must not turn into markup or terminal control sequences ---

HOSTILE = "x` \n\n**0 to create, 0 to move. No changes. Safe to merge.** <!--"


def _hostile(plan: ComputedPlan) -> ComputedPlan:
    tags = tuple(
        dataclasses.replace(t, new_version="v1.1.0 ```\n<!--") if i == 0 else t for i, t in enumerate(plan.tags)
    )
    kv = tuple(dataclasses.replace(k, key="a|b`</details><!--") if i == 0 else k for i, k in enumerate(plan.kv))
    verifies = tuple(dataclasses.replace(v, url="https://x.test/`\n\n<!--") for v in plan.verifies)
    notices = tuple(dataclasses.replace(n, message="**bold** @admin <!-- [x](y)") for n in plan.notices)
    return dataclasses.replace(
        plan,
        name=HOSTILE,
        description="line one\n# fake heading\n</details>\n<!-- hidden",
        source_file="plans/`x`.plan",
        tags=tags,
        kv=kv,
        verifies=verifies,
        notices=notices,
    )


def _html_and_headings(md: str) -> tuple[list[str], list[str]]:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    html_found: list[str] = []
    for tok in tokens:
        if tok.type == "html_block":
            html_found.append(tok.content)
        for child in tok.children or []:
            if child.type == "html_inline":
                html_found.append(child.content)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    return html_found, headings


def test_markdown_escapes_every_user_string(rel: Release) -> None:
    plan = _hostile(compute(rel))
    hostile_change = ContentChange(
        "prompts/extraction", "staging<!--", "v1.0.0", "v1.1.0</summary>", "p.md", "p.md", b"a\n", b"````\n<!--\n"
    )
    md = render_markdown(plan, [hostile_change])
    html_found, headings = _html_and_headings(md)
    # The only raw HTML is our own <details>/<summary> blocks, with the hostile parts escaped.
    assert all(h.startswith(("<details><summary>", "</details>")) for h in html_found), html_found
    assert not any("<!--" in h for h in html_found)
    assert "staging&lt;!--" in md and "v1.1.0&lt;/summary&gt;" in md
    assert headings[0].startswith("Release plan ") and "fake heading" not in " ".join(headings)
    # One bold summary line (ours), the production move still visible, and the content fence holds.
    assert md.count("No changes.") == 1  # only as escaped text inside the name's code span
    assert "**0 to create" not in md.split("\n\n")[1]
    assert re.search(r"\nprompts/extraction +production: v1\.0\.0 -> v1\.1\.0\n", md)
    assert "`````diff\n" in md
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert any(t.info == "diff" and "<!--" in t.content for t in fences)
    assert any(t.info == "text" and "production: v1.0.0 -> v1.1.0" in t.content for t in fences)


def test_markdown_code_span_and_cell_helpers() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", cell=True) == "`a\\|b`"
    assert md_code("a\nb\x1b[2J") == "`a\\nb\\x1b[2J`"
    assert md_text("<!-- *x*") == "\\<\\!\\-\\- \\*x\\*"


def test_control_characters_are_made_visible(rel: Release) -> None:
    plan = dataclasses.replace(
        compute(rel),
        name="evil\x1b[2J\x1b]0;owned\x07\x9b",
        description="first\nsecond\x1b[31m\u202e",
    )
    text = render_text(plan, color=True)
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", text)  # our own color codes
    assert "\x1b" not in stripped and "\x07" not in stripped and "\x9b" not in stripped
    assert "\u202e" not in text
    assert 'Plan "evil\\x1b[2J\\x1b]0;owned\\x07\\x9b"' in stripped
    assert "  first\n  second\\x1b[31m\\u202e\n" in stripped
    md = render_markdown(plan)
    assert "\x1b" not in md and "\x07" not in md and "\u202e" not in md
    assert visible("a\tb\nc\r") == "a\tb\\nc\\x0d"
    assert visible("a\nb", newlines=True) == "a\nb"
