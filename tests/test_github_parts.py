"""The parts of ``planner github``: the REST client's retries and bounds (against the loopback
GitHub double), the comment's size limit, the runner's output format, merge order from git."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from planner.github import gitlog, sticky
from planner.github.actions import Runner
from planner.github.rest import GitHub, GitHubError, Identity
from planner.gitio import Repo
from tests.gh_harness import parse_output_file
from tests.github_server import WORKFLOW_TOKEN, GitHubServer
from tests.gitrepo import git


def _client(server: GitHubServer, waits: list[float], **kw: float) -> GitHub:
    return GitHub(WORKFLOW_TOKEN, server.url, sleep=waits.append, **kw)  # type: ignore[arg-type]


def test_server_errors_are_retried() -> None:
    with GitHubServer() as server:
        server.state.heads[5] = "a" * 40
        server.state.faults += [("/pulls/5", 503, {}), ("/pulls/5", 500, {})]
        waits: list[float] = []
        with _client(server, waits) as gh:
            assert gh.pull("acme", "prompts", 5)["head"]["sha"] == "a" * 40
        assert [s for _m, p, s in server.state.log if p.endswith("/pulls/5")] == [503, 500, 200]
        assert waits == [1.0, 2.0]  # exponential backoff without a Retry-After


def test_a_secondary_rate_limit_waits_for_retry_after() -> None:
    with GitHubServer() as server:
        server.state.faults.append(("/issues/3/comments", 403, {"Retry-After": "7"}))
        waits: list[float] = []
        with _client(server, waits) as gh:
            created = gh.create_comment("acme", "prompts", 3, "hello")
        assert waits == [7.0] and created["body"] == "hello"
        assert len(server.comments_on(3)) == 1  # the refused request wrote nothing


def test_a_primary_rate_limit_reset_beyond_the_bound_fails_at_once() -> None:
    with GitHubServer() as server:
        reset = str(int(time.time()) + 3600)
        server.state.faults.append(
            ("/issues/3/comments", 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
        )
        waits: list[float] = []
        with _client(server, waits, max_wait=60.0) as gh, pytest.raises(GitHubError) as info:
            gh.create_comment("acme", "prompts", 3, "hello")
        assert waits == [] and "over the 60 s bound" in info.value.message
        assert WORKFLOW_TOKEN not in info.value.message


def test_retries_are_bounded() -> None:
    with GitHubServer() as server:
        server.state.heads[5] = "a" * 40
        server.state.faults += [("/pulls/5", 503, {})] * 5
        waits: list[float] = []
        with _client(server, waits, attempts=3) as gh, pytest.raises(GitHubError) as info:
            gh.pull("acme", "prompts", 5)
        assert "gave up after 3 attempts (HTTP 503)" in info.value.message and len(waits) == 2


def test_comments_are_read_across_pages_and_the_installation_identity_is_the_bot() -> None:
    with GitHubServer() as server:
        waits: list[float] = []
        with _client(server, waits) as gh:
            for i in range(130):
                gh.create_comment("acme", "prompts", 9, f"c{i}")
            assert [c["body"] for c in gh.issue_comments("acme", "prompts", 9)] == [f"c{i}" for i in range(130)]
            assert gh.identity("github-actions[bot]") == Identity("github-actions[bot]", None)
        pages = [p for m, p, s in server.state.log if m == "GET" and p.endswith("/issues/9/comments")]
        assert len(pages) == 2  # per_page=100, then the Link rel="next"


def test_is_mine_needs_the_marker_and_the_author() -> None:
    bot = Identity("github-actions[bot]", None)
    alice = Identity("alice", 7)
    m = sticky.PR_MARKER
    assert sticky.is_mine({"body": m, "user": {"login": "github-actions[bot]", "type": "Bot", "id": 1}}, bot, m)
    assert not sticky.is_mine({"body": m, "user": {"login": "github-actions[bot]", "type": "User", "id": 1}}, bot, m)
    assert not sticky.is_mine({"body": "no marker", "user": {"login": "alice", "id": 7}}, alice, m)
    assert not sticky.is_mine({"body": m, "user": {"login": "alice", "id": 8}}, alice, m)  # a renamed impostor
    assert sticky.is_mine({"body": m, "user": {"login": "alice", "id": 7}}, alice, m)


def test_the_comment_fits_githubs_limit_and_keeps_marker_and_footer() -> None:
    big = sticky.Section("a", "### a\n" + "x" * 70_000, "### a\nshort a")
    small = sticky.Section("b", "### b\nall of b", "### b\nshort b")
    body = sticky.fit(sticky.PR_MARKER, "## head", [big, small], "FOOTER")
    assert len(body) <= sticky.BODY_LIMIT and body.startswith(sticky.PR_MARKER)
    assert "short a" in body and "all of b" in body and body.rstrip().endswith("FOOTER")
    huge = [sticky.Section(str(i), "y" * 40_000, "z" * 30_000) for i in range(4)]
    cut = sticky.fit(sticky.PR_MARKER, "## head", huge, "FOOTER")
    assert (
        len(cut) <= sticky.BODY_LIMIT
        and "shortened to GitHub's comment limit" in cut
        and cut.rstrip().endswith("FOOTER")
    )


def test_outputs_use_the_multiline_delimiter_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = Runner({"GITHUB_OUTPUT": str(out)})
    value = 'line one\nEOF\nname=value\n[{"env": "staging"}]'
    runner.output("deploy", value)
    runner.output("other", "x")
    assert parse_output_file(out.read_text()) == {"deploy": value, "other": "x"}


def test_merge_order_is_first_parent_and_odd_names_survive(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "init")
    (repo / "plans").mkdir()
    for name, branch in (("b.plan", "one"), ("ä z.plan", "two")):
        git(repo, "checkout", "-q", "-b", branch, "main")
        (repo / "plans" / name).write_text("plan\n")
        (repo / "plans" / "notes.md").write_text(branch)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", branch)
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "-m", f"merge {branch}", branch)
    merges = git(repo, "rev-list", "--first-parent", "--reverse", "main").split()[1:]
    found = gitlog.merged_plans(Repo(repo), "main", None)
    assert [(m.commit, m.path) for m in found] == [(merges[0], "plans/b.plan"), (merges[1], "plans/ä z.plan")]
    assert gitlog.merged_plans(Repo(repo), "main", merges[0]) == [gitlog.Merged(merges[1], "plans/ä z.plan")]
    assert gitlog.changed_plans(Repo(repo), merges[0], "two") == ["plans/ä z.plan"]
