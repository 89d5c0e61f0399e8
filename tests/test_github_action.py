"""The GitHub Action end to end (tests/gh_harness.py): action.yml's steps run as GitHub runs them,
against a real repository with a bare remote, Cloudflare KV and GitHub's REST API on loopback
(every GitHub request and response checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from planner.txn.journal import CRASH_ENV
from tests.cfkv_server import ACCOUNT, TOKEN, CFKVServer
from tests.gh_harness import ANA, EXT, ROOT, RTR, World, build_world, run_workflow_job, webhook
from tests.github_server import FORK_TOKEN, WORKFLOW_TOKEN, GitHubServer
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
    plan = _plan(
        "r1", f"create prompts/extraction v1.2.0 at {c['ext12']}", "promote prompts/extraction v1.2.0 to staging"
    )
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
    for j in (job, job2, applied, again):  # secrets come from the environment, never printed
        assert WORKFLOW_TOKEN not in j.log + j.summary and TOKEN not in j.log + j.summary


def _merged(world: World, name: str, *lines: str) -> tuple[int, str]:
    """Open a pull request adding plans/NAME.plan and merge it; (number, merge commit)."""
    number, _base, _head = world.open_pr({f"plans/{name}.plan": _plan(name, *lines)})
    return number, world.merge(number)


def test_three_merges_with_the_middle_run_cancelled_are_all_applied_once_in_order(world: World) -> None:
    c = world.commits
    _, sha_a = _merged(world, "a", "promote prompts/extraction v1.1.0 to staging")
    assert world.run_apply(sha_a).ok
    _, sha_b = _merged(world, "b", "promote prompts/extraction v1.1.0 to production")
    # the run for b is cancelled before it starts (GitHub drops a pending run when a third arrives)
    _, sha_c = _merged(world, "c", "promote scripts/router v2.0.0 to staging")
    job = world.run_apply(sha_c)
    assert job.ok, job.log
    assert [r["plan_source"] for r in world.ledger()] == ["plans/a.plan", "plans/b.plan", "plans/c.plan"]
    assert _moves(world) == [f"refs/tags/{EXT}/staging", f"refs/tags/{EXT}/production", f"refs/tags/{RTR}/staging"]
    assert world.peeled(f"refs/tags/{EXT}/production") == c["ext11"]
    assert world.kv_value("production", "prompts/extraction@production") == b"Extract v1.1\n"
    assert json.loads(job.outputs["planner"]["applied"]) == ["plans/b.plan", "plans/c.plan"]
    # deploy: the commit the planner reports for the moved logic component, not main's HEAD
    assert json.loads(job.outputs["planner"]["deploy"]) == [{"env": "staging", "commit": c["rtr2"]}]
    assert c["rtr2"] != sha_c
    # the cancelled run, re-run late (older checkout), and another run: nothing applied twice
    late = world.run_apply(sha_b)
    assert late.ok, late.log
    again = world.run_apply(sha_c)
    assert again.ok, again.log
    assert len(world.ledger()) == 3


def test_a_forged_comment_is_ignored(world: World) -> None:
    number, base, head = world.open_pr(
        {
            "plans/one.plan": _plan("one", "promote prompts/extraction v1.1.0 to staging"),
            "plans/two.plan": _plan("two", "promote scripts/router v2.0.0 to staging"),
        }
    )
    mallory = world.gh.user_token("mallory", 666)
    forged = f"{MARKER}\n<!-- plan-id plans/one.plan {'0' * 64} -->\nApproved: only plans/one.plan\n"
    world.gh.post_as(mallory, number, forged)
    job = world.run_pr(number, base, head)
    assert job.ok, job.log
    mine = _bot_comments(world, number)
    assert len(mine) == 1 and "plans/two.plan" in str(mine[0]["body"])
    (theirs,) = [c for c in world.gh.comments_on(number) if c["user"]["login"] == "mallory"]  # type: ignore[index]
    assert theirs["body"] == forged  # not taken for ours, not overwritten
    world.merge(number)
    applied = world.run_apply()
    assert applied.ok, applied.log
    assert sorted(r["plan_source"] for r in world.ledger()) == ["plans/one.plan", "plans/two.plan"]
    assert world.peeled(f"refs/tags/{RTR}/staging") == world.commits["rtr2"]


def test_a_token_with_a_user_identity_updates_only_its_own_comment(world: World) -> None:
    number, base, head = world.open_pr({"plans/one.plan": _plan("one", "promote prompts/extraction v1.1.0 to staging")})
    alice = world.gh.user_token("alice", 7)
    world.gh.post_as(world.gh.user_token("bob", 8), number, f"{MARKER}\nbob's copy")
    assert world.run_pr(number, base, head, token=alice).ok
    assert world.run_pr(number, base, head, token=alice).ok
    by = [c["user"]["login"] for c in world.gh.comments_on(number)]  # type: ignore[index]
    assert sorted(by) == ["alice", "bob"]  # GET /user says alice: one comment of hers, updated in place


def test_a_stale_plan_between_two_good_ones_is_reported_and_the_others_applied(world: World) -> None:
    c = world.commits
    _merged(world, "first", "promote prompts/extraction v1.1.0 to staging")
    stale_pr, _ = _merged(world, "second", f"create prompts/extraction v1.2.0 at {c['ext12']}")
    _, last = _merged(world, "third", "promote scripts/router v2.0.0 to staging")
    # meanwhile someone creates v1.2.0 by hand at another commit: the second plan is stale
    world.origin.tag_version(EXT, "v1.2.0", c["rtr2"])
    git(world.dev, "push", "-q", "origin", f"refs/tags/{EXT}/v1.2.0")
    job = world.run_apply(last)
    assert not job.ok  # the job is red: a merged plan was not applied
    assert [r["plan_source"] for r in world.ledger()] == ["plans/first.plan", "plans/third.plan"]
    (bad,) = json.loads(job.outputs["planner"]["not-applied"])
    assert bad["path"] == "plans/second.plan" and bad["status"] == "stale" and "already exists" in bad["message"]
    assert "::error::plans/second.plan" in job.log and "**stale**" in job.summary
    assert json.loads(job.outputs["planner"]["deploy"]) == [{"env": "staging", "commit": c["rtr2"]}]
    assert world.peeled(f"refs/tags/{EXT}/v1.2.0") == c["rtr2"]  # the hand-made tag is left alone
    (note,) = _bot_comments(world, stale_pr)
    assert "<!-- release-planner:apply -->" in str(note["body"]) and "was not applied (stale)" in str(note["body"])
    # the next run does not retry it (a new pull request editing the plan does) and applies nothing
    assert world.run_apply(last).ok and len(world.ledger()) == 2


def test_a_sigkilled_apply_is_finished_by_the_next_run_and_nothing_is_applied_twice(world: World) -> None:
    c = world.commits
    _merged(world, "a", "promote prompts/extraction v1.1.0 to staging")
    _, sha = _merged(world, "b", "promote agents/analyzer v1.0.0 to production")
    killed = world.run_apply(sha, {"PLANNER_CRASH_AT": "pushed"})  # SIGKILL right after the push landed
    assert killed.steps[-1].returncode in (-9, 137), killed.log
    assert world.peeled(f"refs/tags/{EXT}/staging") == c["ext11"]  # the tags moved...
    assert world.kv_value("staging", "prompts/extraction@staging") == b"Extract v1\n"  # ...the KV not yet
    (copy,) = [r for r in world.refs() if r.startswith("refs/planner/journal/")]  # the journal outlives the runner
    job = world.run_apply(sha)  # a new runner, a fresh checkout: it takes the journal over from the remote
    assert job.ok, job.log
    assert f"taking over the journal of apply {copy.rsplit('/', 1)[1]}" in job.log
    assert "/actions/runs/4201" in job.log  # ... left by the killed run, named in the log
    assert world.kv_value("staging", "prompts/extraction@staging") == b"Extract v1.1\n"
    assert world.kv_value("production", "agents/analyzer@production") == b"model: a\n"
    assert _moves(world) == [f"refs/tags/{EXT}/staging", f"refs/tags/{ANA}/production"]  # each tag moved once
    assert [r["plan_source"] for r in world.ledger()] == ["plans/a.plan", "plans/b.plan"]  # each applied once
    assert not [r for r in world.refs() if r.startswith("refs/planner/journal/")]


def test_a_journal_left_by_someone_else_stops_the_run_and_is_not_taken_over(world: World) -> None:
    """An apply from a laptop may still be running: the reconcile does not take its journal over."""
    _, sha = _merged(world, "a", "promote prompts/extraction v1.1.0 to staging")
    laptop = world.checkout(sha)
    env = {**world.env(laptop, "push", {}, sha, "refs/heads/main"), CRASH_ENV: "published"}
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_ACTOR"):
        env.pop(name)
    env.update(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT, PYTHONPATH=str(ROOT))
    planner = [sys.executable, "-m", "planner"]
    crashed = subprocess.run(
        [*planner, "apply", "plans/a.plan", "--auto-approve"], cwd=laptop, env=env, capture_output=True, text=True
    )
    assert crashed.returncode == -9, crashed.stderr
    before = world.refs()
    job = world.run_apply(sha)
    assert not job.ok
    assert "is in flight or was interrupted" in job.log and "planner recover" in job.log
    assert "::error::" in job.log and "Traceback" not in job.log
    assert world.refs() == before and world.ledger() == []  # nothing taken over, nothing applied
    env.pop(CRASH_ENV)
    rec = subprocess.run([*planner, "recover"], cwd=laptop, env=env, capture_output=True, text=True)
    assert rec.returncode == 0, rec.stderr
    job = world.run_apply(sha)
    assert job.ok, job.log
    assert [r["plan_source"] for r in world.ledger()] == ["plans/a.plan"]


def test_a_fork_pull_request_without_secrets_is_checked_not_planned(world: World) -> None:
    number, base, head = world.open_pr({"plans/one.plan": _plan("one", "promote prompts/extraction v1.1.0 to staging")})
    world.kv.reset_counts()
    job = world.run_pr(number, base, head, fork=True, token=FORK_TOKEN)
    assert job.ok, job.log
    (p,) = json.loads(job.outputs["planner"]["plans"])
    assert p["status"] == "not-planned" and "forks get no secrets" in p["message"]
    assert world.kv.count("*") == 0  # no KV read without credentials
    assert "::notice::plans/one.plan: checked, not planned" in job.log
    assert "::warning::the plan comment was not written" in job.log  # the read-only token may not comment
    assert world.gh.comments_on(number) == []
    assert "checked, not planned" in job.summary


def test_a_pr_with_a_broken_plan_fails_with_annotations_at_the_plan_line(world: World) -> None:
    number, base, head = world.open_pr({"plans/bad.plan": _plan("bad", "promote prompts/extracton v1.1.0 to staging")})
    job = world.run_pr(number, base, head)
    assert not job.ok
    assert "::error file=plans/bad.plan,line=2,col=" in job.log
    (comment,) = _bot_comments(world, number)
    assert "plans/bad.plan`: error" in str(comment["body"])


def test_an_older_run_finishing_late_does_not_overwrite_the_newer_comment(world: World) -> None:
    number, base, old = world.open_pr({"plans/one.plan": _plan("one", "promote prompts/extraction v1.1.0 to staging")})
    new = world.push_pr(number, {"plans/one.plan": _plan("one", "promote scripts/router v2.0.0 to staging")})
    assert world.run_pr(number, base, new).ok
    (comment,) = _bot_comments(world, number)
    late = world.run_pr(number, base, old)
    assert late.ok, late.log
    assert f"::notice::the pull request has a newer head {new[:12]}" in late.log
    (after,) = _bot_comments(world, number)
    assert after["body"] == comment["body"] and "scripts/router" in str(after["body"])


def test_the_first_run_with_since_ignores_older_plan_files(world: World) -> None:
    _, old = _merged(world, "old", "promote prompts/extraction v1.1.0 to production")
    _, new = _merged(world, "new", "promote prompts/extraction v1.1.0 to staging")
    job = world.run_apply(new, inputs={"since": old})
    assert job.ok, job.log
    assert [r["plan_source"] for r in world.ledger()] == ["plans/new.plan"]
    assert world.peeled(f"refs/tags/{EXT}/production") == world.commits["ext1"]  # the old plan was not applied


FREEZE = """
[policy]
[[policy.freeze]]
env = "production"
from = "2026-12-24T00:00"
to = "2026-12-27T00:00"
reason = "holiday freeze"
"""


def test_a_plan_blocked_by_a_policy_at_apply_time_is_reported_and_the_next_is_applied(world: World) -> None:
    from tests.gh_harness import PLANNER_TOML

    number, _base, _head = world.open_pr(
        {
            "planner.toml": PLANNER_TOML + FREEZE,
            "plans/prod.plan": _plan("prod", "promote prompts/extraction v1.1.0 to production"),
        }
    )
    world.merge(number)
    _, last = _merged(world, "stage", "promote prompts/extraction v1.1.0 to staging")
    job = world.run_apply(last, {"PLANNER_NOW": "2026-12-25T10:00:00Z"})
    assert not job.ok
    (bad,) = json.loads(job.outputs["planner"]["not-applied"])
    assert bad["path"] == "plans/prod.plan" and bad["status"] == "blocked" and "holiday freeze" in bad["message"]
    assert [r["plan_source"] for r in world.ledger()] == ["plans/stage.plan"]
    assert world.peeled(f"refs/tags/{EXT}/production") == world.commits["ext1"]
    assert world.kv_value("production", "prompts/extraction@production") == b"Extract v1\n"


def test_plans_too_large_for_one_comment_are_shortened_and_still_all_applied(world: World) -> None:
    # A prompt rewritten at length: each plan's review fills its ~60,000 characters with the content
    # diff, so three of them cannot share one comment (GitHub refuses a body over 65,536: the double
    # answers 422 as GitHub does). The comment keeps every plan's id; the job summary has them in full.
    big = "".join(
        f"line {i}: extract the invoice total, the currency and the due date {i * 7919}\n" for i in range(6000)
    )
    number, base, _head = world.open_pr({"prompts/extraction.md": big})
    head_content = world.push_pr(number, {})  # the same tree: a commit to name below
    head = head_content
    plans = {  # each plan stands alone: it is applied against the remote as the merge finds it
        f"plans/big{n}.plan": _plan(
            f"big{n}",
            f"create prompts/extraction v1.{n + 2}.0 at {head}",
            f"promote prompts/extraction v1.{n + 2}.0 to staging",
        )
        for n in (1, 2, 3)
    }
    head = world.push_pr(number, plans)
    job = world.run_pr(number, base, head)
    assert job.ok, job.log
    planned = json.loads(job.outputs["planner"]["plans"])
    assert [p["status"] for p in planned] == ["planned", "planned", "planned"], planned
    (comment,) = _bot_comments(world, number)
    body = str(comment["body"])
    assert len(body) <= 65536 and MARKER in body
    for p in planned:
        assert p["plan_id"][:12] in body  # every plan is named in the comment, if only by its id
    assert len(job.summary) > 65536  # the summary was not cut: every plan in full
    world.merge(number)
    applied = world.run_apply()
    assert applied.ok, applied.log
    assert sorted(json.loads(applied.outputs["planner"]["applied"])) == sorted(plans)
    assert [world.peeled(f"refs/tags/{EXT}/v1.{n}.0") for n in (3, 4, 5)] == [head_content] * 3
    assert world.peeled(f"refs/tags/{EXT}/staging") == head_content  # the last merged plan's move
    assert world.kv_value("staging", "prompts/extraction@staging") == big.encode()


@pytest.mark.parametrize("event_name", ["push", "pull_request"])
def test_this_repositorys_own_workflow_runs_the_action_from_its_checkout(tmp_path: Path, event_name: str) -> None:
    """.github/workflows/action.yml, job by job as GitHub runs it on each of its triggers: checkout,
    the fixture, `uses: ./` (this checkout's action.yml: install, planner github apply), the check."""
    workflow = ROOT / ".github/workflows/action.yml"
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    assert set(doc.get("on", doc.get(True))) == {"push", "pull_request"}  # `on:` is True in YAML 1.1
    steps = doc["jobs"]["apply"]["steps"]
    assert [s.get("uses") for s in steps].count("./") == 1
    workspace, temp = tmp_path / "workspace", tmp_path / "runner-temp"
    workspace.mkdir()
    temp.mkdir()
    event = tmp_path / "event.json"
    sha = git(ROOT, "rev-parse", "HEAD")
    payload = webhook("push", None) if event_name == "push" else webhook("pull_request", "opened")
    event.write_text(json.dumps({**payload, "ref": "refs/heads/main", "after": sha}))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main" if event_name == "push" else "refs/pull/1/merge",
        "GITHUB_REPOSITORY": "OWNER/release-planner",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: the apply needs no GitHub API when all goes well
        "GITHUB_RUN_ID": "77",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    job = run_workflow_job(workflow, "apply", workspace, env)
    assert job.ok, job.log
    names = [s.name for s in job.steps]
    assert names[-1] == "The merged plan is applied, once, tags and KV alike"
    assert "planner github apply" in names  # the action's own step ran, from this checkout
    assert json.loads(job.outputs["planner"]["applied"]) == ["plans/promote.plan"]


def test_the_action_workflows_check_fails_when_nothing_was_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.action_fixture import check, make

    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    make(tmp_path / "release")
    problems = check(tmp_path / "release", "[]")
    assert any("output applied" in p for p in problems)
    assert "staging is not at v1.1.0 on the remote" in problems
    assert any("the ledger holds" in p for p in problems)
    assert any(p.startswith("KV prompts/extraction@staging holds b''") for p in problems)
