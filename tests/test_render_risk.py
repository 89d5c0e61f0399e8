"""The review shows what matters first at any size: one production move hidden among thousands of
staging moves, a rejected version, a verify check and a policy result are visible in both the
markdown comment and the text output, and the markdown stays under the cap."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from planner import policy
from planner.config import PlannerConfig
from planner.gitio import Remote, Repo
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.plan.changes import ComputedPlan, KVChange, TagChange
from planner.plan.diff import compute_plan, content_changes
from planner.registry import load_registry
from planner.render.markdown import MAX_CHARS, render_markdown
from planner.render.review import RenderContext
from planner.render.text import render_text
from planner.state import build_state
from planner.steps import MoveEnv, OrderedPlan, Reject, Step, Verify
from tests.gitrepo import EdgitRepo
from tests.release_fixture import Target

ENVS = ("staging", "production")
URL = "https://prod.example.test/health"


def pipeline_plan(tmp_path: Path, n: int) -> tuple[ComputedPlan, RenderContext, list[object]]:
    """n-1 staging moves and one production move (in the middle), through diff and policy."""
    repo = EdgitRepo.create(tmp_path)
    names = [f"p{i:05d}" for i in range(n)]
    reg = {x: {"path": f"prompts/{x}.md", "type": "prompt"} for x in names}
    repo.write(".edgit/components.json", json.dumps({"version": "3.0.0", "components": reg}) + "\n")
    for x in names:
        repo.write(f"prompts/{x}.md", f"Prompt {x}\n")
    c1 = repo.commit("v1")
    for x in names:
        repo.write(f"prompts/{x}.md", f"Prompt {x}, better\n")
    c2 = repo.commit("v2")
    hidden = names[n // 2]
    refs: dict[str, tuple[str, str]] = {}
    for x in names:
        base = f"refs/tags/components/prompts/{x}"
        refs.update({f"{base}/v1.0.0": (c1, c1), f"{base}/v1.1.0": (c2, c2)})
        refs[f"{base}/staging"] = (c2, c2) if x == hidden else (c1, c1)
        refs[f"{base}/production"] = (c1, c1)
    state = build_state(Remote(str(repo.remote)), refs)
    v11 = Version.parse("v1.1.0")
    steps: list[Step] = [
        MoveEnv(
            ComponentRef("prompts", x), "components", "production" if x == hidden else "staging", v11, c2, "promote"
        )
        for x in names
    ]
    steps += [
        Reject(ComponentRef("prompts", names[0]), Version.parse("v1.0.0"), "leaks PII"),
        Verify("production", URL, 200),
    ]
    ids = tuple(s.id for s in steps)
    ordered = OrderedPlan("big", "", "plans/big.plan", "00" * 32, tuple(steps), (ids,))
    registry = load_registry(repo.work)
    targets = {e: Target(e, SqliteKV(tmp_path / "kv.sqlite", e), ("{type}/{name}@{slot}",)) for e in ENVS}
    plan = compute_plan(ordered, repo=Repo(repo.work), registry=registry, state=state, targets=targets)
    config = PlannerConfig(repo.work, environments=ENVS, policy={"protected": ["production"]})
    violations = policy.check(
        plan, state=state, config=config, history=list, invocation=policy.Invocation(saved_plan=False, require_id=False)
    )
    assert [v.policy for v in violations] == ["protected"]
    ctx = RenderContext(protected=frozenset({"production"}), order=ENVS, violations=tuple(violations))
    return plan, ctx, list(content_changes(plan, Repo(repo.work), registry))


def scaled(plan: ComputedPlan, n: int) -> ComputedPlan:
    """``plan`` with its staging moves copied to ``n`` components (built from planner.plan.changes
    dataclasses: the 20,000-component pipeline takes minutes on a shared machine)."""
    staging = [t for t in plan.tags if "/staging" in t.ref]
    others = [t for t in plan.tags if "/staging" not in t.ref]
    proto, kv_proto = staging[0], next(k for k in plan.kv if k.slot == "staging")
    tags: list[TagChange] = []
    kv: list[KVChange] = []
    for i in range(n):
        name = f"q{i:05d}"
        tags.append(dataclasses.replace(proto, ref=f"refs/tags/components/prompts/{name}/staging"))
        kv.append(dataclasses.replace(kv_proto, key=f"prompts/{name}@staging", component=f"prompts/{name}"))
        if i == n // 2:
            tags.extend(others)  # the production move, hidden in the middle
    return dataclasses.replace(plan, tags=tuple(tags), kv=(*kv, *(k for k in plan.kv if k.slot != "staging")))


def check_visible(plan: ComputedPlan, ctx: RenderContext, changes: list[object], hidden: str) -> str:
    md = render_markdown(plan, changes, context=ctx)  # type: ignore[arg-type]
    text = render_text(plan, context=ctx)
    assert len(md) < MAX_CHARS
    prod = re.compile(rf"\nprompts/{hidden} +production: v1\.0\.0 -> v1\.1\.0\n")
    assert prod.search(md), "the production move is listed by name in the markdown"
    assert re.search(rf"\n  ~ prompts/{hidden} +production: v1\.0\.0 -> v1\.1\.0\n", text)
    for out in (md, text):
        assert "production (protected, last stage)" in out.replace("\\", "")
        assert "rejects prompts/p00000 v1.0.0: leaks PII" in out.replace("\\", "")
        assert URL in out.replace("\\", "")
        assert "production is protected" in out.replace("\\", "")
        assert "verify production#0" not in out and "move prompts/" not in out  # no internal step ids
    # Risk first: policy, environments, notices and verify before any staging change.
    first_staging = md.index("\n**staging**\n")
    for what in (
        "Blocked by policy",
        "#### Environments",
        "#### Notices",
        "#### Verify",
        f"prompts/{hidden}  production",
    ):
        assert md.index(what) < first_staging, what
    assert not re.search(r"#### [^\n]+\n\n(?:####|$)", md), "no empty section"
    return md


def test_five_moves(tmp_path: Path) -> None:
    plan, ctx, changes = pipeline_plan(tmp_path, 5)
    md = check_visible(plan, ctx, changes, "p00002")
    assert "Output truncated" not in md and md.count("<details><summary>prompts/") == 5  # every diff


@pytest.mark.slow
def test_2000_moves(tmp_path: Path) -> None:
    plan, ctx, changes = pipeline_plan(tmp_path, 2000)
    md = check_visible(plan, ctx, changes, "p01000")
    assert "<details><summary>1999 components: staging v1.0.0 -&gt; v1.1.0</summary>" in md
    assert "Output truncated" in md and "content diffs" in md
    # The production diff is first among the content diffs, and diffs fill the room left.
    assert md.index("<details><summary>prompts/p01000  production") < md.index("<details><summary>prompts/p00000")
    assert len(md) > MAX_CHARS - 5_000


def test_20000_moves(tmp_path: Path) -> None:
    plan, ctx, changes = pipeline_plan(tmp_path, 3)
    big = scaled(plan, 20_000)
    md = check_visible(big, ctx, changes, "p00001")
    assert "<details><summary>20000 components: staging v1.0.0 -&gt; v1.1.0</summary>" in md
    text = render_text(big, context=ctx)
    assert len(text.splitlines()) > 40_000  # the terminal output lists every name and key


def test_no_op_sentence(tmp_path: Path) -> None:
    plan, _ctx, _ = pipeline_plan(tmp_path, 3)
    noop = dataclasses.replace(
        plan,
        tags=tuple(dataclasses.replace(t, action="noop") for t in plan.tags),
        kv=tuple(dataclasses.replace(k, unchanged=True) for k in plan.kv),
        verifies=(),
    )
    md = render_markdown(noop, context=RenderContext())
    assert "**No changes: 3 tags already in place, 6 KV keys already up to date.**" in md
    empty = dataclasses.replace(noop, tags=(), kv=(), notices=())
    assert "**No changes.**" in render_markdown(empty)
    assert render_text(empty).rstrip().endswith("No changes.")
