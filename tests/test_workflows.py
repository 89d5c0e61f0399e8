"""The CI recipes (examples/github/*.yml) and the pre-commit hook: valid YAML, and every `planner`
command they run exists with the options they pass (checked against the real Typer/click tree)."""

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
_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "2>", "<", "&", ")"}


def commands() -> dict[str, Any]:
    """The real command tree (Typer ships its own click): {name: command with .params}."""
    group = typer.main.get_command(app)
    cmds: dict[str, Any] = dict(getattr(group, "commands", {}))
    assert {"plan", "apply", "check", "validate", "show", "history"} <= set(cmds)
    return cmds


def run_scripts(doc: dict[str, Any]) -> list[str]:
    out = []
    for job in doc["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                out.append(str(step["run"]))
    return out


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
    names = {p.name for p in WORKFLOWS}
    assert names == {"release-plan-pr.yml", "release-apply.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_planner_commands_exist_with_their_options(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    # `on:` is parsed as True by YAML 1.1; the trigger must not be a tag push
    triggers = doc.get("on", doc.get(True))
    assert "tags" not in str(triggers) and "create" not in triggers
    calls = [c for s in run_scripts(doc) for c in planner_calls(s)]
    assert calls, f"{path.name} runs no planner command"
    cmds = commands()
    for sub, opts in calls:
        assert sub in cmds, f"{path.name}: `planner {sub}` is not a command"
        known = {o for p in cmds[sub].params for o in (*p.opts, *p.secondary_opts)}
        for o in opts:
            assert o in known, f"{path.name}: `planner {sub}` has no option {o} (has {sorted(known)})"


def test_pr_workflow_shape() -> None:
    doc = yaml.safe_load((ROOT / "examples/github/release-plan-pr.yml").read_text())
    steps = doc["jobs"]["plan"]["steps"]
    subs = [s for script in run_scripts(doc) for s, _ in planner_calls(script)]
    assert subs == ["check", "validate", "plan"]
    comment = next(s for s in steps if s.get("uses", "").startswith("actions/github-script"))
    assert "updateComment" in comment["with"]["script"] and "<!-- release-planner:plan -->" in comment["with"]["script"]
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    assert doc["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_apply_workflow_shape() -> None:
    doc = yaml.safe_load((ROOT / "examples/github/release-apply.yml").read_text())
    assert doc["concurrency"] == {"group": "release-apply", "cancel-in-progress": False}
    calls = [c for script in run_scripts(doc) for c in planner_calls(script)]
    apply = [opts for sub, opts in calls if sub == "apply"]
    assert apply == [["--plan", "--require-id", "--format"]]
    deploy = doc["jobs"]["deploy"]
    assert "fromJSON(needs.apply.outputs.deploy)" in str(deploy["strategy"])
    assert any("wrangler deploy --env" in str(s.get("run", "")) for s in deploy["steps"])


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
