"""The two commands end to end: read the event, do the work, write outputs, summary, comments."""

from __future__ import annotations

import json
from pathlib import Path

from planner.errors import EXIT_ERROR, EXIT_OK
from planner.github import sticky
from planner.github.actions import Runner
from planner.github.rest import GitHub, GitHubError, Identity

BOT_LOGIN = "github-actions[bot]"  # who GITHUB_TOKEN (an installation token) writes as


def client(runner: Runner) -> GitHub | None:
    token = runner.get("GITHUB_TOKEN")
    if token is None:
        return None
    return GitHub(token, runner.get("GITHUB_API_URL") or "https://api.github.com")


def me(gh: GitHub, runner: Runner) -> Identity:
    return gh.identity(runner.get("PLANNER_GITHUB_LOGIN") or BOT_LOGIN)


def pr_command(repo: Path, remote: str, runner: Runner) -> int:
    from planner.github.pr import heading, run_pr, sections, summary

    event = runner.event()
    pull = event.get("pull_request")
    if not isinstance(pull, dict):
        runner.message("error", "planner github pr runs on pull_request events (this event has no pull_request)")
        return EXIT_ERROR
    number = int(pull["number"])
    base, head = str(pull["base"]["sha"]), str(pull["head"]["sha"])
    report = run_pr(repo, remote, base, head)
    for d in report.diagnostics:
        runner.annotate(d)
    for p in report.plans:
        if p.status == "not-planned":
            runner.message("notice", f"{p.path}: {p.message}")
        elif p.status in ("blocked", "error"):
            runner.message("error", f"{p.path}: {p.status}: {p.message}")
    runner.summary(summary(report))
    runner.output("plans", json.dumps([p.row() for p in report.plans], sort_keys=True))
    gh = client(runner)
    if gh is None:
        runner.message("warning", "GITHUB_TOKEN is not set: no pull-request comment")
    else:
        owner, name = runner.repository()
        body = sticky.fit(sticky.PR_MARKER, heading(report), sections(report, runner.run_url()), _footer(runner))
        with gh:
            try:
                now = str(gh.pull(owner, name, number)["head"]["sha"])
                if now != head:  # an older run finishing late must not overwrite the newer comment
                    runner.message(
                        "notice", f"the pull request has a newer head {now[:12]}: its run writes the comment"
                    )
                    return EXIT_ERROR if report.failed else EXIT_OK
                comment = sticky.upsert(gh, owner, name, number, me(gh, runner), sticky.PR_MARKER, body)
                runner.output("comment-id", str(comment["id"]))
            except GitHubError as exc:
                # a fork's pull request gets a read-only token: the summary has everything
                runner.message("warning", f"the plan comment was not written ({exc.message}); see the job summary")
    return EXIT_ERROR if report.failed else EXIT_OK


def _footer(runner: Runner) -> str:
    url = runner.run_url()
    return f"<sub>release-planner · [run]({url})</sub>" if url else "<sub>release-planner</sub>"


def apply_command(repo: Path, remote: str, runner: Runner, since: str | None = None) -> int:
    from planner.github.reconcile import reconcile, summary_markdown, write_outputs

    report = reconcile(repo, remote, since=since)
    deploy, problems = report.deploy()
    for p in problems:
        runner.message("error", p)
    failed = [o for o in report.outcomes if o.status in ("blocked", "stale")]
    for o in failed:
        runner.message("error", f"{o.path} (merged in {o.commit[:12]}) was not applied: {o.status}: {o.message}")
    if report.stopped:
        runner.message("error", f"stopped: {report.stopped}")
    write_outputs(runner, report, deploy)
    runner.summary(summary_markdown(report, deploy, runner.run_url()))
    gh = client(runner)
    if failed and gh is not None:
        owner, name = runner.repository()
        with gh:
            for o in failed:
                try:
                    _comment_failure(gh, runner, owner, name, o.commit, o.path, o.status, o.message)
                except GitHubError as exc:
                    runner.message(
                        "warning", f"could not comment on the pull request of {o.commit[:12]}: {exc.message}"
                    )
    return EXIT_ERROR if (failed or problems or report.stopped) else EXIT_OK


def _comment_failure(
    gh: GitHub, runner: Runner, owner: str, name: str, commit: str, path: str, status: str, message: str
) -> None:
    pulls = [p for p in gh.pulls_of_commit(owner, name, commit) if p.get("merged_at")]
    if not pulls:
        return
    body = (
        f"{sticky.APPLY_MARKER}\n\n## Release apply: `{path}` was not applied ({status})\n\n"
        f"```\n{message[:60000]}\n```\n\nEdit the plan file in a new pull request to try again. {_footer(runner)}\n"
    )
    sticky.upsert(gh, owner, name, int(pulls[0]["number"]), me(gh, runner), sticky.APPLY_MARKER, body)
