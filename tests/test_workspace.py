"""The workspace: every command finds the repository from any directory inside it.

Commands run through the installed console script, as a user runs them: from the top level, from
a subdirectory, and from outside with ``--repo`` naming a subdirectory. Each must print the same
and exit the same; a protected environment is refused from every directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import run
from planner.workspace import WorkspaceProblem, find_workspace, open_workspace
from tests.gitrepo import git

PLANNER = str(Path(sys.executable).with_name("planner"))


def planner(cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.run([PLANNER, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws") / "demo"
    code, _, err = planner(root.parent, "demo", "--keep", str(root))
    assert code == 0, err
    work = root / "work"
    (work / "planner.toml").write_text('[policy]\nprotected = ["production"]\n', encoding="utf-8")
    (work / "plans" / "deep" / "er").mkdir(parents=True)
    (work / "plans" / "stage.plan").write_text(
        'plan "s" {\n  promote agents/analyzer v1.0.0 to staging\n}\n', encoding="utf-8"
    )
    (work / "plans" / "prod.plan").write_text(
        'plan "p" {\n  promote prompts/extraction v1.0.0 to production\n}\n', encoding="utf-8"
    )
    git(work, "add", "-A")
    git(work, "commit", "-qm", "protect production")
    return work


COMMANDS = [
    ("status",),
    ("status", "--format", "json"),
    ("status", "prompts/extraction", "--env", "staging"),
    ("history", "--format", "json"),
    ("components", "list", "--format", "json"),
    ("kv", "ls", "--env", "staging"),
    ("check", "{plans}/stage.plan"),
    ("plan", "{plans}/stage.plan", "--format", "json"),
    ("graph", "{plans}/stage.plan"),
    ("validate",),
    ("apply", "{plans}/prod.plan"),  # production is protected: refused (exit 3), nothing moves
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_same_result_from_top_level_subdirectory_and_repo_option(demo: Path, argv: tuple[str, ...]) -> None:
    plans = str(demo / "plans")
    args = [a.replace("{plans}", plans) for a in argv]
    top = planner(demo, *args)
    sub = planner(demo / "plans" / "deep" / "er", *args)
    outside = planner(demo.parent, *args, "--repo", str(demo / "plans" / "deep"))
    assert top == sub == outside
    if argv[0] == "apply":
        assert top[0] == 3 and "protected" in top[2]
    else:
        assert top[0] == 0, top[2]
    if argv[0] == "validate":  # it read the top level's YAML, whichever directory it ran from
        assert "validated 3 reference(s) in 2 YAML file(s): 0 error(s)" in top[2]


def test_plan_paths_stay_relative_to_where_they_were_typed(demo: Path) -> None:
    code, out, err = planner(demo / "plans", "check", "stage.plan")
    assert code == 0, err
    code, _, err = planner(demo / "plans", "apply", "prod.plan")
    assert code == 3 and "protected" in err
    code, out, err = planner(demo / "plans", "check", "plans/stage.plan")  # relative to plans/, not the top
    assert code == 1 and "plans/stage.plan:1:1: error: no such plan file" in out and "Traceback" not in err


def test_one_state_directory_from_any_subdirectory(demo: Path) -> None:
    planner(demo / "plans", "apply", "prod.plan")
    assert not (demo / "plans" / ".planner").exists()
    assert (demo / ".planner").is_dir()


def test_linked_worktree_shares_the_repository_state(demo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(demo, "worktree", "add", "-q", "--detach", str(linked))
    ws = find_workspace(linked / "plans")
    assert ws.root == linked.resolve()
    assert ws.common_dir == (demo / ".git").resolve()
    assert ws.state_dir == (demo / ".planner").resolve()  # one lock, journal and SQLite KV per repository
    assert planner(linked, "kv", "ls", "--env", "staging") == planner(demo, "kv", "ls", "--env", "staging")


def test_one_sentence_outside_bare_and_without_commits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    empty = tmp_path / "empty"
    git(tmp_path, "init", "-q", str(empty))
    cases = {
        plain: "is not inside a git repository (no .git here or in any parent directory)",
        bare: "is a bare git repository: the planner needs a work tree",
        bare / "refs": "is a bare git repository",
        empty: "has no commits yet",
        empty / ".git": "is inside a .git directory",
    }
    for path, sentence in cases.items():
        with pytest.raises(WorkspaceProblem, match=r".*") as info:
            open_workspace(path)
        assert sentence in str(info.value)
        assert run(["status", "--repo", str(path)]) == 1
        err = capsys.readouterr().err
        assert sentence in err and err.count("\n") == 1 and "Traceback" not in err


def test_text_status_is_aligned_columns_with_every_component(demo: Path) -> None:
    code, out, err = planner(demo, "status")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "remote: origin"
    assert lines[1].split() == ["component", "latest", "production", "staging", "notes"]
    starts = [lines[1].index(h) for h in ("latest", "production", "staging")]
    for row in lines[2:]:  # every value starts under its header
        assert all(row[s - 2 : s] == "  " and row[s] != " " for s in starts), row
    assert [r.split()[0] for r in lines[2:]] == [
        "agents/analyzer",
        "prompts/extraction",
        "schemas/invoice",
        "scripts/router",
    ]
    assert lines[-1].endswith("needs rebuild")
