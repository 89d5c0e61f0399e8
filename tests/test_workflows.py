"""The CI recipes (examples/github/*.yml), action.yml and the pre-commit hook: valid YAML, the
planner commands they run exist, and the least-privilege rules of docs/ci.md hold."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from planner.cli import app

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / "examples/github").glob("*.yml"))
OWN = sorted((ROOT / ".github/workflows").glob("*.yml"))  # this repository's own CI
ACTION = ROOT / "action.yml"
_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "2>", "<", "&", ")"}
_PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}")


def commands() -> dict[str, Any]:
    """The real command tree (Typer ships its own click): {name: command with .params}."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group)  # type: ignore[arg-type]
    names = group.list_commands(ctx)  # type: ignore[attr-defined]  # lazy: listed, then loaded
    cmds: dict[str, Any] = {n: group.get_command(ctx, n) for n in names}  # type: ignore[attr-defined]
    assert {"plan", "apply", "check", "validate", "show", "history", "github"} <= set(cmds)
    return cmds


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def planner_calls(script: str) -> list[tuple[str, list[str]]]:
    """(subcommand, options) for every `planner SUB ...` in a shell script."""
    text = script.replace("\\\n", " ")
    calls = []
    for line in text.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:  # pragma: no cover - a broken script fails the test
            raise AssertionError(f"cannot tokenise: {line!r}: {exc}") from None
        for i, tok in enumerate(tokens):
            if tok != "planner" or i + 1 >= len(tokens):
                continue
            sub = tokens[i + 1]
            opts = []
            for t in tokens[i + 2 :]:
                if t in _OPERATORS or t.startswith(">") or t.startswith("2>"):
                    break
                if t.startswith("-"):
                    opts.append(t.split("=", 1)[0])
            calls.append((sub, opts))
    return calls


def test_the_recipes_exist() -> None:
    assert {p.name for p in WORKFLOWS} == {"release-plan-pr.yml", "release-apply.yml"}


def test_the_action_runs_planner_github_with_existing_subcommands_and_options() -> None:
    doc = load(ACTION)
    assert doc["runs"]["using"] == "composite"
    (script,) = [s["run"] for s in steps(doc) if "planner github" in s.get("run", "")]
    assert 'planner github "$COMMAND" "${args[@]}"' in script and "pr|apply)" in script
    group = commands()["github"]
    for sub in ("pr", "apply"):
        known = {o for p in group.commands[sub].params for o in (*p.opts, *p.secondary_opts)}
        assert "--remote" in known
    assert "--since" in {o for p in group.commands["apply"].params for o in p.opts}


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION, *OWN], ids=lambda p: p.name)
def test_every_action_is_pinned_by_a_full_sha(path: Path) -> None:
    for step in steps(load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith("OWNER/release-planner@") or uses == "./":
            continue
        assert _PINNED.fullmatch(uses), f"{path.name}: {uses} is not pinned by a commit SHA"


def test_the_action_installs_from_its_own_checkout_wheels_only_with_a_pinned_python() -> None:
    doc = load(ACTION)
    setup = steps(doc)[0]
    assert setup["uses"].startswith("actions/setup-python@") and setup["with"]["python-version"]
    install = steps(doc)[1]["run"]
    assert '"$ACTION_PATH"' in install and "--only-binary=:all:" in install
    assert steps(doc)[1]["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    # the KV token reaches the planner step alone, not the install step
    assert "CLOUDFLARE_API_TOKEN" not in str(steps(doc)[1]) and "CLOUDFLARE_API_TOKEN" in steps(doc)[2]["env"]


@pytest.mark.parametrize("path", [*WORKFLOWS, *OWN], ids=lambda p: p.name)
def test_workflows_are_least_privilege(path: Path) -> None:
    doc = load(path)
    triggers = doc.get("on", doc.get(True))  # `on:` is parsed as True by YAML 1.1
    assert "tags" not in str(triggers) and "create" not in triggers and "pull_request_target" not in triggers
    assert doc["permissions"] == {}  # nothing at workflow level: each job says what it needs
    for name, job in doc["jobs"].items():
        assert "permissions" in job and job.get("timeout-minutes"), name
        assert "env" not in job, f"{name}: secrets go on the step that needs them"
        assert "always()" not in str(job.get("if", ""))
        planner = [s for s in job["steps"] if str(s.get("uses", "")).startswith(("OWNER/release-planner@", "./"))]
        for s in planner:
            assert s["with"]["command"] in ("pr", "apply")
        runs_install = any("npm ci" in str(s.get("run", "")) for s in job["steps"])
        if runs_install:  # third-party install scripts: no write token, no persisted credentials
            assert set(job["permissions"].values()) == {"read"}
            (checkout,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]
            assert checkout["with"]["persist-credentials"] is False


def test_pr_workflow_shape() -> None:
    doc = load(ROOT / "examples/github/release-plan-pr.yml")
    job = doc["jobs"]["plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    (planner,) = [s for s in job["steps"] if "uses" in s and s["uses"].startswith("OWNER/")]
    assert planner["with"]["command"] == "pr" and "KV_READ" in planner["with"]["kv-api-token"]
    assert "paths" not in str(doc[True])  # every pull request gets a run (a required check can rely on it)


def test_apply_workflow_shape() -> None:
    doc = load(ROOT / "examples/github/release-apply.yml")
    assert doc["concurrency"] == {"group": "release-apply", "cancel-in-progress": False}
    assert "workflow_dispatch" in doc[True] and "schedule" in doc[True]  # catch-up runs
    apply = doc["jobs"]["apply"]
    assert apply["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert apply["outputs"]["deploy"] == "${{ steps.planner.outputs.deploy }}"
    deploy = doc["jobs"]["deploy"]
    assert deploy["if"].startswith("${{ !cancelled()")
    assert "fromJSON(needs.apply.outputs.deploy)" in str(deploy["strategy"])
    (checkout,) = [s for s in deploy["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["ref"] == "${{ matrix.commit }}"  # the planner's commit, never main's HEAD
    (wrangler,) = [s for s in deploy["steps"] if "wrangler deploy" in str(s.get("run", ""))]
    assert "CLOUDFLARE_API_TOKEN" in wrangler["env"]


def test_pre_commit_hook_runs_planner_check_on_plan_files() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "planner-check" and hook["pass_filenames"] is True
    assert re.search(hook["files"], "plans/release.plan") and not re.search(hook["files"], "docs/x.md")
    sub, opts = planner_calls(hook["entry"])[0]
    assert sub in commands() and opts == []


def test_parser_sees_through_shell_syntax() -> None:
    script = 'planner plan "$f" --format markdown -o out.json 2> err || code=$?\nxargs -d "\\n" planner check --format=github'
    assert planner_calls(script) == [("plan", ["--format", "-o"]), ("check", ["--format"])]


def test_actionlint_is_clean_on_the_action_and_the_examples() -> None:
    from tests.actionlint import lint

    assert lint([*WORKFLOWS, *sorted((ROOT / ".github/workflows").glob("*.yml"))]) == []


def test_actionlint_finds_a_broken_expression_in_the_action(tmp_path: Path) -> None:
    from tests.actionlint import lint

    broken = tmp_path / "action.yml"
    broken.write_text(
        ACTION.read_text(encoding="utf-8").replace("inputs.remote }}", "inputs.remotee }}"), encoding="utf-8"
    )
    (finding,) = lint([], action=broken)
    assert 'property "remotee" is not defined' in finding["message"]
