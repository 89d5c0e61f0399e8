"""`planner status`, `planner components`, `planner demo` through planner.cli.run and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import run
from planner.demo import DemoRepo, build_demo_repo
from planner.registry import REGISTRY_PATH
from tests.gitrepo import git

PLANNER = Path(sys.executable).parent / "planner"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRepo:
    return build_demo_repo(tmp_path_factory.mktemp("demo"))


def status_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert run(["status", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_json_shape(demo: DemoRepo, capsys: pytest.CaptureFixture[str]) -> None:
    doc = status_json(capsys, "--repo", str(demo.work))
    assert doc["schema"] == "planner.status/1"
    assert doc["environments"] == ["production", "staging"]
    comps = {c["component"]: c for c in doc["components"]}
    assert list(comps) == ["agents/analyzer", "prompts/extraction", "schemas/invoice", "scripts/router"]
    ext = comps["prompts/extraction"]
    assert ext["versions"] == ["v1.0.0", "v1.1.0"]
    assert ext["envs"]["staging"]["version"] == "v1.1.0" and ext["envs"]["production"]["version"] == "v1.0.0"
    assert comps["agents/analyzer"]["envs"]["staging"]["version"] is None
    assert comps["agents/analyzer"]["uses"] == ["prompts/extraction", "schemas/invoice"]
    assert comps["scripts/router"]["needs_rebuild"] is True and comps["scripts/router"]["prefix"] == "logic"
    assert comps["scripts/router"]["latest"] == "v1.0.0-rc.1"
    assert doc["divergences"] == [] and doc["ignored_refs"] == []


def test_status_filters(demo: DemoRepo, capsys: pytest.CaptureFixture[str]) -> None:
    doc = status_json(capsys, "--repo", str(demo.work), "--env", "staging", "prompts/extraction")
    assert doc["environments"] == ["staging"]
    assert [c["component"] for c in doc["components"]] == ["prompts/extraction"]
    assert list(doc["components"][0]["envs"]) == ["staging"]
    doc = status_json(capsys, "--repo", str(demo.work), "router", "--remote", str(demo.remote))
    assert [c["component"] for c in doc["components"]] == ["scripts/router"]


def test_status_text_table(demo: DemoRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "--repo", str(demo.work)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "agents/analyzer" in line)
    staging_commit = git(demo.remote, "rev-parse", "components/agents/analyzer/staging^{commit}")
    assert f"(no version: {staging_commit[:12]})" in row
    router = next(line for line in out.splitlines() if "scripts/router" in line)
    assert "needs rebuild" in router and "v0.9.0" in router


def test_status_errors(demo: DemoRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "--repo", str(demo.work), "nope"]) == 1
    assert "unknown component 'nope'" in capsys.readouterr().err
    assert run(["status", "--repo", str(demo.work), "--env", "-x"]) == 1
    assert "could be read as a git option" in capsys.readouterr().err
    assert run(["status", "--repo", str(demo.work), "--remote", str(demo.root / "missing.git")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the remote ") and "is not a git repository, or it does not exist" in err
    assert "Traceback" not in err


def test_status_warns_about_stale_local_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = build_demo_repo(tmp_path)
    ref = "components/schemas/invoice/staging"
    git(d.work, "tag", "-f", "-a", ref, "-m", "Set invoice to staging", "HEAD")  # moved locally, not pushed
    doc = status_json(capsys, "--repo", str(d.work))
    captured = capsys.readouterr()
    assert [x["ref"] for x in doc["divergences"]] == [f"refs/tags/{ref}"]
    assert run(["status", "--repo", str(d.work), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert f"warning: refs/tags/{ref}: local tag is stale" in captured.err
    assert "warning" not in captured.out


def test_components_list_show_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = build_demo_repo(tmp_path)
    assert run(["components", "list", "--repo", str(d.work), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["components"]
    assert [r["component"] for r in rows] == [
        "agents/analyzer",
        "prompts/extraction",
        "schemas/invoice",
        "scripts/router",
    ]
    assert run(["components", "show", "analyzer", "--repo", str(d.work)]) == 0
    out = capsys.readouterr().out
    assert "agents/analyzer/analyzer.yaml:2:9: prompts/extraction@staging" in out
    assert run(["components", "show", "prompts/extraction", "--repo", str(d.work), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["used_by"] == ["agents/analyzer"]
    (d.work / "queries").mkdir()
    (d.work / "queries/sales.sql").write_text("select 1;\n")
    assert run(["components", "add", str(d.work / "queries/sales.sql"), "--type", "query", "--repo", str(d.work)]) == 0
    assert "registered queries/sales" in capsys.readouterr().err
    reg = json.loads((d.work / REGISTRY_PATH).read_text())
    assert reg["components"]["sales"] == {"path": "queries/sales.sql", "type": "query"}
    assert list(reg) == ["version", "components", "updated"]
    assert run(["components", "add", str(d.work / "queries/sales.sql"), "--type", "widget", "--repo", str(d.work)]) == 1
    assert "Invalid value for '--type': 'widget' is not one of 'template', 'prompt'" in capsys.readouterr().err


def test_components_bad_registry_positioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = build_demo_repo(tmp_path)
    (d.work / "agents/analyzer/analyzer.yaml").write_text("prompt: [oops\n")
    assert run(["components", "list", "--repo", str(d.work)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agents/analyzer/analyzer.yaml:2:1: error: malformed YAML")


def test_demo_command_keep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keep = tmp_path / "kept"
    assert run(["demo", "--keep", str(keep)]) == 0
    out = capsys.readouterr().out
    assert "scripts/router" in out and "needs rebuild" in out
    assert (keep / "remote.git").is_dir() and (keep / "work/.edgit/components.json").is_file()
    assert run(["demo", "--keep", str(keep)]) == 1  # not empty any more
    assert "not empty" in capsys.readouterr().err


def test_installed_console_script_runs_demo() -> None:
    assert PLANNER.exists(), f"console script missing at {PLANNER}"
    proc = subprocess.run([str(PLANNER), "demo"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "prompts/extraction" in proc.stdout and "(no version:" in proc.stdout
    assert "demo repository:" in proc.stderr


def test_subprocess_status_json(demo: DemoRepo) -> None:
    proc = subprocess.run(
        [str(PLANNER), "status", "--format", "json", "--repo", str(demo.work)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema"] == "planner.status/1"


def test_console_script_status_matches_the_cli_in_process(demo: DemoRepo, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["status", "--format", "json", "--repo", str(demo.work), "--env", "staging"]
    fast = subprocess.run([str(PLANNER), *args], capture_output=True, text=True, timeout=60, check=True)
    assert run(args) == 0
    assert json.loads(fast.stdout) == json.loads(capsys.readouterr().out)
    # An error: one sentence, exit code 1, no traceback.
    bad = subprocess.run(
        [str(PLANNER), "status", "--format", "json", "--repo", str(demo.work), "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == "error: unknown component 'nope': not in the registry and no tags on the remote"


def test_prefix_mismatch_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = build_demo_repo(tmp_path)
    (d.work / "prompts/component.yaml").write_text(
        "name: extraction\ntype: prompt\npath: extraction.md\nprefix: logic\n"
    )
    doc = status_json(capsys, "--repo", str(d.work), "extraction")
    assert doc["problems"] == [
        "prompts/extraction is registered as 'logic' (prompts/component.yaml) but its tags are under 'components/'"
    ]
    assert doc["components"][0]["needs_rebuild"] is True
