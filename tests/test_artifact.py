from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from planner.artifact import ArtifactError, canonical_json, dump, from_dict, load, plan_id, stale_targets, verify_id
from planner.changes import ComputedPlan
from planner.diff import compute_plan
from planner.errors import DiagnosticError
from planner.kv.base import KVEntry
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.policy import environment_order
from planner.registry import load_registry
from planner.state import snapshot
from planner.steps import MoveEnv, OrderedPlan
from tests.release_fixture import ANA, ENVS, EXT, Release, build_release, ordered_plan


@pytest.fixture
def rel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    return build_release(tmp_path, monkeypatch)


def compute(rel: Release, **kw) -> ComputedPlan:  # type: ignore[no-untyped-def]
    work = rel.repo.work
    return compute_plan(
        ordered_plan(rel, **kw),
        repo=work,
        registry=load_registry(work),
        state=snapshot("origin", work),
        targets=rel.targets(),
    )


def test_round_trip_and_id(rel: Release) -> None:
    plan = compute(rel)
    assert len(plan.plan_id) == 64 and verify_id(plan)
    text = dump(plan)
    loaded = load(text)
    assert loaded == plan
    data = json.loads(text)
    assert data["format_version"] == 1
    assert data["remote"] == str(rel.repo.remote)  # "origin" resolved to its URL
    assert data["source_file"] == "plans/release.plan" and data["source_sha256"] == "ab" * 32
    assert [s["level"] for s in data["steps"]][:2] == [0, 0]
    assert data["levels"][1] == ["move agents/analyzer@dev", "move prompts/extraction@production"]
    # Whole-number floats are canonical integers, so the id does not depend on their spelling.
    assert '"within_seconds":30' in canonical_json(data)
    assert plan_id(dataclasses.replace(plan, plan_id="")) == plan.plan_id


def test_tampered_plan_is_refused(rel: Release) -> None:
    data = json.loads(dump(compute(rel)))
    data["tags"][0]["new_commit"] = "0" * 40
    with pytest.raises(DiagnosticError, match="plan_id does not match"):
        load(json.dumps(data))


def test_unknown_format_version_is_refused(rel: Release) -> None:
    data = json.loads(dump(compute(rel)))
    data["format_version"] = 99
    with pytest.raises(DiagnosticError, match="unsupported plan format_version 99"):
        load(json.dumps(data))
    with pytest.raises(ArtifactError, match="must hold a JSON object"):
        from_dict([1])


def test_malformed_json_is_positioned() -> None:
    with pytest.raises(DiagnosticError) as info:
        load('{\n  "format_version": 1,\n  oops\n}', "saved/plan.json")
    d = info.value.diagnostics[0]
    assert d.span is not None and (d.span.file, d.span.line, d.span.column) == ("saved/plan.json", 3, 3)
    assert "saved/plan.json:3:3: error: malformed JSON" in info.value.render()


def test_no_secret_in_artifact(rel: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "sekret-token-123")
    plan = compute(rel)
    assert "sekret-token-123" not in dump(plan)
    from planner.diff import remote_url

    assert remote_url("https://bot:sekret-token-123@git.example.test/r.git", rel.repo.work) == (
        "https://git.example.test/r.git"
    )


def test_stale_tag_named_exactly(rel: Release) -> None:
    plan = load(dump(compute(rel)))  # from the artifact alone
    stores = rel.targets()
    assert stale_targets(plan, snapshot("origin", rel.repo.work), stores) == []
    # Someone promotes extraction to staging on the remote after planning.
    rel.repo.set_env(EXT, "staging", "v1.1.0")
    rel.repo.push()
    fresh = snapshot("origin", rel.repo.work)
    assert stale_targets(plan, fresh, stores) == [f"refs/tags/{EXT}/staging"]


def test_stale_kv_key_named_exactly(rel: Release) -> None:
    plan = compute(rel)
    SqliteKV(rel.kv_path, "staging").put_many([KVEntry("prompts/extraction@staging", b"hand edit\n")])
    fresh = snapshot("origin", rel.repo.work)
    stores = {env: SqliteKV(rel.kv_path, env) for env in ENVS}  # bare stores work too
    assert stale_targets(plan, fresh, stores) == ["kv:staging:prompts/extraction@staging"]


def test_environment_order_policy(rel: Release) -> None:
    work = rel.repo.work
    state = snapshot("origin", work)
    ok = compute(rel)
    assert environment_order(ok, state, ENVS) == []  # staging gets v1.1.0 in the same plan; rollback exempt
    v = Version.parse
    ext, ana = ComponentRef("prompts", "extraction"), ComponentRef("agents", "analyzer")
    skip = MoveEnv(ext, "components", "production", v("v1.1.0"), rel.c["c2"], "promote")
    # analyzer lives in dev only: dev (which holds v1.0.0) is its nearest earlier stage.
    ana_prod = MoveEnv(ana, "components", "production", v("v2.0.0"), rel.c["c3"], "promote")
    ordered = OrderedPlan("p", "", "p.plan", "00" * 32, (skip, ana_prod), ((skip.id, ana_prod.id),))
    bad = compute_plan(ordered, repo=work, registry=load_registry(work), state=state, targets=rel.targets())
    found = environment_order(bad, state, ENVS)
    assert [(x.policy, x.step_id) for x in found] == [
        ("environment-order", "move prompts/extraction@production"),
        ("environment-order", "move agents/analyzer@production"),
    ]
    assert "staging does not hold it" in found[0].message and "dev does not hold it" in found[1].message
    assert environment_order(bad, state, None) == []  # no order configured: no policy
    assert f"refs/tags/{ANA}/production" in {t.ref for t in bad.tags}
