from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner.artifact import dump, load, plan_id, verify_id
from planner.cli import run
from planner.errors import DiagnosticError
from planner.gitio import Remote, Repo
from planner.model import ComponentRef, Version
from planner.plan.changes import ComputedPlan
from planner.plan.diff import compute_plan
from planner.policy import environment_order
from planner.registry import load_registry
from planner.state import snapshot
from planner.steps import MoveEnv, OrderedPlan
from tests.release_fixture import ANA, ENVS, Release, build_release, ordered_plan


@pytest.fixture
def rel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    return build_release(tmp_path, monkeypatch)


def compute(rel: Release, **kw) -> ComputedPlan:  # type: ignore[no-untyped-def]
    work = rel.repo.work
    return compute_plan(
        ordered_plan(rel, **kw),
        repo=Repo(work),
        registry=load_registry(work),
        state=snapshot(Repo(work), Remote("origin")),
        targets=rel.targets(),
    )


def canonical_json(data: Any) -> str:
    """plan.json's canonical form as docs/plan.md defines it (the id is its sha256)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
    data["description"] = "edited after review"
    with pytest.raises(DiagnosticError, match="plan_id does not match") as err:
        load(json.dumps(data))
    # Only the two ids, never the (one-line) artifact itself.
    assert err.value.render() == (
        f"plan.json:1:1: error: plan_id does not match the plan's content (edited after planning?): "
        f"the file says {data['plan_id']}, the content hashes to {plan_id(load(json.dumps(data), check_id=False))}"
    )


def test_unknown_format_version_is_refused(rel: Release) -> None:
    data = json.loads(dump(compute(rel)))
    data["format_version"] = 99
    with pytest.raises(DiagnosticError, match="unsupported plan format_version 99"):
        load(json.dumps(data))
    with pytest.raises(DiagnosticError, match="must hold a JSON object"):
        load("[1]")


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
    from planner.plan.diff import remote_url

    assert remote_url(Remote("https://bot:sekret-token-123@git.example.test/r.git"), Repo(rel.repo.work)) == (
        "https://git.example.test/r.git"
    )


def test_environment_order_policy(rel: Release) -> None:
    work = rel.repo.work
    state = snapshot(Repo(work), Remote("origin"))
    ok = compute(rel)
    assert environment_order(ok, state, ENVS) == []  # staging gets v1.1.0 in the same plan; rollback exempt
    v = Version.parse
    ext, ana = ComponentRef("prompts", "extraction"), ComponentRef("agents", "analyzer")
    skip = MoveEnv(ext, "components", "production", v("v1.1.0"), rel.c["c2"], "promote")
    # analyzer lives in dev only: dev (which holds v1.0.0) is its nearest earlier stage.
    ana_prod = MoveEnv(ana, "components", "production", v("v2.0.0"), rel.c["c3"], "promote")
    ordered = OrderedPlan("p", "", "p.plan", "00" * 32, (skip, ana_prod), ((skip.id, ana_prod.id),))
    bad = compute_plan(ordered, repo=Repo(work), registry=load_registry(work), state=state, targets=rel.targets())
    found = environment_order(bad, state, ENVS)
    assert [(x.policy, x.step_id) for x in found] == [
        ("environment-order", "move prompts/extraction@production"),
        ("environment-order", "move agents/analyzer@production"),
    ]
    assert "staging does not hold it" in found[0].message and "dev does not hold it" in found[1].message
    assert environment_order(bad, state, None) == []  # no order configured: no policy
    assert f"refs/tags/{ANA}/production" in {t.ref for t in bad.tags}


# --- plan.json is input: every field is checked, errors name the file and the JSON path ---


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One dumped plan for the many field checks below (building a release takes seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        return dump(compute(build_release(tmp_path_factory.mktemp("saved"), mp)))


def _edited(saved: str, edit: Callable[[dict[str, Any]], None]) -> str:
    """The dumped plan after ``edit``, with a freshly recomputed id (anyone can recompute it)."""
    data = json.loads(saved)
    edit(data)
    data.pop("plan_id")
    data["plan_id"] = hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
    return json.dumps(data, indent=2, sort_keys=True)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = data
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tags.0.ref", 5, "tags[0].ref: must be a string, not a number"),
        ("tags.0.old_object", 7, "tags[0].old_object: must be a git object id"),
        ("tags.1.old_object", "xyz", "tags[1].old_object: must be a git object id"),
        ("tags.0.action", "explode", "tags[0].action: must be one of create, move, noop"),
        ("kv.0.namespace", None, "kv[0].namespace: must be a string, not null"),
        ("kv.0.key", ["a"], "kv[0].key: must be a string, not an array"),
        ("kv.0.size", "41", "kv[0].size: must be an integer, not a string"),
        ("kv.0.unchanged", 1, "kv[0].unchanged: must be true or false"),
        ("tags.0.level", True, "tags[0].level: must be an integer, not a boolean"),
        ("levels.0.0", "nope", "levels[0][0]: 'nope' is not the id of a step"),
        ("verifies.0.expect", 9999, "verifies[0].expect: must be between 100 and 599"),
        ("verifies.0.within_seconds", -1, "verifies[0].within_seconds: must be null or a finite, non-negative"),
        ("tags.0.ref", "refs/tags/app-release-2", "tags[0].ref: invalid tag 'app-release-2'"),
        ("tags.0.ref", "refs/heads/main", "tags[0].ref: 'refs/heads/main' is not a tag ref"),
        (
            "tags.1.ref",
            "refs/tags/components/prompts/extraction/production",
            "tags[1].ref: 'refs/tags/components/prompts/extraction/production' does not agree with its step",
        ),
        ("tags.1.message", "Set extraction to production", "tags[1].message: 'Set extraction to production' does not"),
        (
            "tags.1.new_version",
            "v9.9.9",
            "tags[1].new_version: 'v9.9.9' does not agree with its step (which moves to 'v1.1.0')",
        ),
        ("tags.1.step_id", "verify staging#0", "tags[1].step_id: 'verify staging#0' is not the id of a create"),
        ("kv.0.namespace", "production", "kv[0].namespace: 'production' does not agree with its step"),
        ("ledger_old", 12, "ledger_old: must be a git object id"),
        ("name", {"a": 1}, "name: must be a string, not an object"),
        ("tags.0.surprise", 1, "tags[0].surprise: is not a field of this object"),
        ("kv.0.metadata.commit", [[[1]]], "kv[0].metadata.commit: must be a string, number, boolean or null"),
        ("kv.0.metadata", {"x": "y" * 2000}, "kv[0].metadata: is 2008 bytes as JSON, the KV limit is 1024"),
    ],
)
def test_every_field_is_checked(saved: str, path: str, value: Any, message: str) -> None:
    text = _edited(saved, _set(path, value))
    with pytest.raises(DiagnosticError) as err:
        load(text, "saved/plan.json")
    rendered = err.value.render()
    assert rendered.startswith("saved/plan.json:"), rendered
    assert message in rendered, rendered


def test_error_points_at_the_field(saved: str) -> None:
    text = _edited(saved, _set("kv.1.key", ["a"]))
    with pytest.raises(DiagnosticError) as err:
        load(text, "plan.json")
    span = err.value.diagnostics[0].span
    assert span is not None
    line = text.splitlines()[span.line - 1]
    assert line.strip().startswith('"key": [') and line[span.column - 1] == "["


def test_deeply_nested_json_is_a_clear_error() -> None:
    text = '{"format_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(DiagnosticError, match="nested too deeply"):
        load(text)


def test_bad_plan_on_the_cli_is_an_error_not_a_traceback(
    saved: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(_edited(saved, _set("tags.0.action", "explode")), encoding="utf-8")
    assert run(["show", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "tags[0].action: must be one of create, move, noop" in err and "Traceback" not in err


def test_unchanged_is_true_only_for_equal_content_and_may_be_false_for_it(saved: str) -> None:
    """``unchanged`` needs equal hashes; equal hashes need not be unchanged (stale metadata)."""
    kv = json.loads(saved)["kv"]
    i = next(n for n, k in enumerate(kv) if k["old_sha256"] != k["new_sha256"])
    with pytest.raises(DiagnosticError) as err:
        load(_edited(saved, _set(f"kv.{i}.unchanged", True)), "saved/plan.json")
    assert f"kv[{i}].unchanged: may be true only when old_sha256 equals new_sha256" in err.value.render()

    def same_bytes_new_metadata(data: dict[str, Any]) -> None:
        data["kv"][i]["old_sha256"] = data["kv"][i]["new_sha256"]
        data["kv"][i]["unchanged"] = False

    plan = load(_edited(saved, same_bytes_new_metadata), "saved/plan.json")
    assert plan.kv[i].old_sha256 == plan.kv[i].new_sha256 and not plan.kv[i].unchanged
