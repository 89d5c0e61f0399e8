"""A realistic fixture repository for language tests (and the dry-run tests may reuse it).

``build_lang_fixture(tmp_path)`` -> LangFixture(repo, registry, state, config): real git work tree
and bare remote with edgit-style tags; the registry carries ``uses`` dependencies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from planner.config import PlannerConfig
from planner.gitio import Remote, Repo
from planner.model import ComponentRef
from planner.registry import Registry, load_registry
from planner.state import RepoState, snapshot
from tests.gitrepo import EdgitRepo, git

ENVIRONMENTS = ("dev", "staging", "production")

# component -> the components it uses (what a component.yaml `uses:` declares)
USES: dict[str, tuple[str, ...]] = {
    "agents/analyzer": ("prompts/extraction", "schemas/invoice"),
    "agents/router": ("agents/analyzer",),
}


@dataclass
class LangFixture:
    repo: EdgitRepo
    registry: Registry
    state: RepoState
    config: PlannerConfig
    commits: dict[str, str]  # label -> commit id


def build_lang_fixture(root: Path) -> LangFixture:
    repo = EdgitRepo.create(root)
    c: dict[str, str] = {}
    c["extraction1"] = repo.register("extraction", "prompt", "prompts/extraction.md", "Extract v1\n")
    c["summary1"] = repo.register("summary", "prompt", "prompts/summary.md", "Summarize v1\n")
    c["invoice09"] = repo.register("invoice", "schema", "schemas/invoice.json", '{"v": "0.9"}\n')
    c["analyzer1"] = repo.register("analyzer", "agent-definition", "agents/analyzer.yaml", "model: a\n")
    c["router1"] = repo.register("router", "agent-definition", "logic/router.ts", "export default 1\n")
    c["cfg1"] = repo.register("extraction", "config", "configs/extraction.toml", "x = 1\n")
    repo.write("schemas/invoice.json", '{"v": "1.0"}\n')
    c["invoice1"] = repo.commit("invoice 1.0")
    repo.write("agents/analyzer.yaml", "model: b\n")
    c["analyzer2"] = repo.commit("analyzer 2")
    repo.write("logic/router.ts", "export default 2\n")
    c["router11"] = repo.commit("router 1.1")
    repo.write("prompts/extraction.md", "Extract v1.1\n")
    c["extraction11"] = repo.commit("extraction 1.1 (not tagged yet)")
    git(repo.work, "branch", "release/next", c["extraction11"])

    ext, summ = "components/prompts/extraction", "components/prompts/summary"
    inv, ana, rtr = "components/schemas/invoice", "components/agents/analyzer", "logic/agents/router"
    repo.tag_version(ext, "v1.0.0", c["extraction1"])
    repo.set_env(ext, "staging", "v1.0.0")
    repo.set_env(ext, "production", "v1.0.0")
    repo.tag_version(summ, "v1.0.0", c["summary1"])
    repo.set_env(summ, "dev", "v1.0.0")
    repo.tag_version(inv, "v0.9.0", c["invoice09"])
    repo.tag_version(inv, "v1.0.0", c["invoice1"])
    repo.set_env(inv, "staging", "v1.0.0", nested=False)
    repo.set_env(inv, "production", "v1.0.0")
    repo.tag_version(ana, "v1.0.0", c["analyzer1"])
    repo.tag_version(ana, "v2.0.0", c["analyzer2"])
    repo.set_env(ana, "staging", "v1.0.0")
    repo.set_env(ana, "production", "v1.0.0")
    repo.tag_version(rtr, "v1.0.0", c["router1"])
    repo.tag_version(rtr, "v1.1.0", c["router11"])
    repo.set_env(rtr, "staging", "v1.1.0")
    repo.set_env(rtr, "production", "v1.1.0")
    repo.tag_version("components/configs/extraction", "v1.0.0", c["cfg1"])
    repo.push()
    git(repo.work, "push", "-q", "origin", "release/next")

    base = load_registry(repo.work)
    comps = {}
    for ref, comp in base.components.items():
        uses = tuple(ComponentRef.parse(u) for u in USES.get(str(ref), ()))
        comps[ref] = dataclasses.replace(comp, uses=uses)
    registry = Registry(comps)
    config = PlannerConfig(root=repo.work, remote=str(repo.remote), environments=ENVIRONMENTS)
    state = snapshot(Repo(repo.work), Remote(str(repo.remote)))
    return LangFixture(repo, registry, state, config, c)


def assert_same_syntax_error(text: str) -> None:
    """``parse_plan`` (fast path, then lark) fails exactly as the plain lark parser does."""
    import pytest

    from planner.errors import DiagnosticError
    from planner.lang.parser import parse, parse_plan

    with pytest.raises(DiagnosticError) as fast:
        parse_plan(text, "f.plan")
    with pytest.raises(DiagnosticError) as plain:
        parse(text, "f.plan")
    assert fast.value.diagnostics == plain.value.diagnostics
    assert fast.value.render() == plain.value.render()
