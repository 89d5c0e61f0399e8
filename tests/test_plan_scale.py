from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from planner.gitio import Remote, Repo
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.plan.diff import compute_plan, content_changes
from planner.registry import Registry, load_registry
from planner.render.markdown import MAX_CHARS, render_markdown
from planner.render.text import render_text
from planner.state import build_state
from planner.steps import MoveEnv, OrderedPlan
from tests.gitrepo import EdgitRepo
from tests.release_fixture import Target

N = 2000


@pytest.mark.slow
def test_2000_components_render_under_the_cap(tmp_path: Path) -> None:
    repo = EdgitRepo.create(tmp_path)
    names = [f"p{i:04d}" for i in range(N)]
    reg = {n: {"path": f"prompts/{n}.md", "type": "prompt"} for n in names}
    repo.write(".edgit/components.json", json.dumps({"version": "3.0.0", "components": reg}) + "\n")
    for n in names:
        repo.write(f"prompts/{n}.md", f"Prompt {n}\nline two\n")
    c1 = repo.commit("v1")
    for n in names:
        repo.write(f"prompts/{n}.md", f"Prompt {n}\nline two, better\n")
    c2 = repo.commit("v2")
    refs: dict[str, tuple[str, str]] = {}
    for n in names:
        base = f"refs/tags/components/prompts/{n}"
        refs[f"{base}/v1.0.0"] = (c1, c1)
        refs[f"{base}/v1.1.0"] = (c2, c2)
        refs[f"{base}/staging"] = (c1, c1)
    state = build_state(Remote(str(repo.remote)), refs)
    steps = tuple(
        MoveEnv(ComponentRef("prompts", n), "components", "staging", Version.parse("v1.1.0"), c2, "promote")
        for n in names
    )
    ordered = OrderedPlan("big", "", "plans/big.plan", "00" * 32, steps, (tuple(s.id for s in steps),))
    registry: Registry = load_registry(repo.work)
    targets = {"staging": Target("staging", SqliteKV(tmp_path / "kv.sqlite", "staging"), ("{type}/{name}@{slot}",))}
    t0 = time.perf_counter()
    plan = compute_plan(ordered, repo=Repo(repo.work), registry=registry, state=state, targets=targets)
    changes = content_changes(plan, Repo(repo.work), registry)
    md = render_markdown(plan, changes)
    elapsed = time.perf_counter() - t0
    assert len(plan.tags) == N and len(plan.kv) == 2 * N and len(changes) == N
    assert len(md) < MAX_CHARS
    assert "**0 to create, 2000 to move, 0 in place, 4000 KV writes (0 unchanged).**" in md
    assert "Output truncated" in md and "content diffs" in md
    assert "prompts/p0000  staging: v1.0.0 -> v1.1.0" in md
    assert len(render_text(plan).splitlines()) > 2 * N  # the terminal output is never truncated
    assert elapsed < 60, elapsed  # ~3 s idle; git path lookups dominate on a loaded machine
