"""Names edgit accepts (capitals, dots) load and work end to end; a name git would refuse in a ref
is reported for that one component while the others still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.gitio import Remote, Repo
from planner.model import ComponentRef, ModelError, TagName, validate_name
from planner.registry import load_registry
from planner.state import snapshot
from tests.gitrepo import EdgitRepo, git
from tests.txn_fixture import TxnFixture


@pytest.mark.parametrize("name", ["MyPrompt", "my.prompt", "v2.Extraction_x", "_private", "a.b.c", "my.locker"])
def test_edgit_style_names_are_valid(name: str) -> None:
    assert validate_name(name) == name
    tag = TagName.parse(f"components/prompts/{name}/staging")
    assert tag.name == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (".hidden", "starts with '.'"),
        ("x.lock", "ends with '.lock'"),
        ("x.", "ends with '.'"),
        ("a..b", "contains '..'"),
        ("a@b", "may contain only"),
        ("a:b", "may contain only"),
        ("-x", "starts with '-'"),
        ("a b", "whitespace"),
    ],
)
def test_names_git_or_the_planner_cannot_use_are_refused(name: str, why: str) -> None:
    with pytest.raises(ModelError, match=why):
        validate_name(name)
    assert TagName.try_parse(f"components/prompts/{name}/staging") is None


def test_registry_with_capitals_dots_and_one_bad_name_loads_the_rest(edgit_repo: EdgitRepo, tmp_path: Path) -> None:
    c1 = edgit_repo.register("MyPrompt", "prompt", "prompts/MyPrompt.md", "hi\n")
    edgit_repo.register("my.prompt", "prompt", "prompts/my.prompt.md", "dot\n")
    edgit_repo.register("bad@name", "prompt", "prompts/bad.md", "bad\n")
    edgit_repo.tag_version("components/prompts/MyPrompt", "v1.0.0", c1)
    edgit_repo.set_env("components/prompts/MyPrompt", "staging", "v1.0.0")
    edgit_repo.push()
    reg = load_registry(edgit_repo.work)
    assert sorted(str(r) for r in reg.components) == ["prompts/MyPrompt", "prompts/my.prompt"]
    (warning,) = [w for w in reg.warnings if "bad@name" in w.message]
    lines = (edgit_repo.work / ".edgit/components.json").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if '"bad@name"' in text)
    assert warning.span is not None and (warning.span.file, warning.span.line) == (".edgit/components.json", line)
    assert "component skipped" in warning.message
    state = snapshot(Repo(edgit_repo.work), Remote(str(edgit_repo.remote)))
    cs = state.components[ComponentRef("prompts", "MyPrompt")]
    assert str(cs.envs["staging"].version) == "v1.0.0"
    # Every command still runs: status names both, and a plan promotes the capitalised one.
    fx = TxnFixture(edgit_repo, {}, str(edgit_repo.remote))
    out = fx.cli("status", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert "bad@name" in out.stderr and "component skipped" in out.stderr
    names = [c["component"] for c in json.loads(out.stdout)["components"]]
    assert names == ["prompts/MyPrompt", "prompts/my.prompt"]
    edgit_repo.write("planner.toml", 'remote = "origin"\n[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n')
    (edgit_repo.work / ".git/info/exclude").write_text(".planner/\nplanner.toml\n")
    out = fx.cli("promote", "prompts/MyPrompt", "v1.0.0", "--to", "production", "--new-env", "--auto-approve")
    assert out.returncode == 0, out.stderr
    assert git(edgit_repo.remote, "rev-parse", "refs/tags/components/prompts/MyPrompt/production^{commit}") == c1
