"""The GitHub Action end to end (tests/gh_harness.py): action.yml's steps run as GitHub runs them,
against a real repository with a bare remote, Cloudflare KV and GitHub's REST API on loopback
(every GitHub request and response checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cfkv_server import CFKVServer
from tests.gh_harness import EXT, RTR, World, build_world
from tests.github_server import FORK_TOKEN, GitHubServer
from tests.gitrepo import git

MARKER = "<!-- release-planner:plan -->"
CURSOR = "refs/planner/reconcile"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with CFKVServer() as kv, GitHubServer() as gh:
        yield build_world(tmp_path / "w", kv, gh)


def _plan(name: str, *lines: str) -> str:
    return f'plan "{name}" {{\n' + "".join(f"  {ln}\n" for ln in lines) + "}\n"


def _bot_comments(world: World, number: int) -> list[dict[str, object]]:
    return [c for c in world.gh.comments_on(number) if c["user"]["login"] == "github-actions[bot]"]  # type: ignore[index]


def _moves(world: World) -> list[str]:
    """Every ref move recorded in the ledger, oldest first."""
    return [ch["ref"] for rec in world.ledger() for ch in rec["refs"]]


def test_pr_creating_a_version_and_referencing_it_is_planned_merged_and_applied(world: World) -> None:
    c = world.commits
    plan = _plan("r1", f"create prompts/extraction v1.2.0 at {c['ext12']}", "promote prompts/extraction v1.2.0 to staging")
    number, base, head = world.open_pr(
        {"plans/r1.plan": plan, "app.yaml": "prompt: prompts/extraction@v1.2.0\nother: prompts/extraction@staging\n"}
    )
    refs_before = world.refs()
    job = world.run_pr(number, base, head)
    assert job.ok, job.log
    plans = json.loads(job.outputs["planner"]["plans"])
    assert [(p["path"], p["status"]) for p in plans] == [("plans/r1.plan", "planned")]
    (comment,) = _bot_comments(world, number)
    assert MARKER in str(comment["body"]) and plans[0]["plan_id"][:12] in str(comment["body"])
    assert job.outputs["planner"]["comment-id"] == str(comment["id"])
    assert "plans/r1.plan" in job.summary and "v1.2.0" in job.summary
    # KV drift of @staging (the plan moves staging) is a warning, not a failure
    assert "::warning file=app.yaml" in job.log and "::error" not in job.log
    assert world.refs() == refs_before  # a PR run changes nothing

    # a second push to the PR updates the same comment in place
    job2 = world.run_pr(number, base, head)
    assert job2.ok, job2.log
    assert [x["id"] for x in _bot_comments(world, number)] == [comment["id"]]

    world.merge(number)
    applied = world.run_apply()
    assert applied.ok, applied.log
    assert world.peeled(f"refs/tags/{EXT}/v1.2.0") == c["ext12"]
    assert world.peeled(f"refs/tags/{EXT}/staging") == c["ext12"]
    assert world.kv_value("staging", "prompts/extraction@staging") == b"Extract v1.2\n"
    assert world.kv_value("staging", "prompts/extraction@v1.2.0") == b"Extract v1.2\n"
    (rec,) = world.ledger()
    assert rec["plan_source"] == "plans/r1.plan" and rec["actor"] == "octocat"
    assert json.loads(applied.outputs["planner"]["applied"]) == ["plans/r1.plan"]
    assert json.loads(applied.outputs["planner"]["deploy"]) == []  # no logic component moved
    assert CURSOR in world.refs()

    # a re-run (or the next push) applies nothing again
    again = world.run_apply()
    assert again.ok, again.log
    assert len(world.ledger()) == 1 and "nothing to do" in again.summary
