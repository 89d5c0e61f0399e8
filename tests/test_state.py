from __future__ import annotations

from planner.model import ComponentRef, Version
from planner.state import snapshot
from tests.gitrepo import EdgitRepo, git_daemon


def test_nested_edgit_env_tag_peels_to_version(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.set_env("components/prompts/extraction", "staging", "v1.0.0", nested=True)
    edgit_repo.push()
    state = snapshot(str(edgit_repo.remote), edgit_repo.work)
    cs = state.components[ComponentRef("prompts", "extraction")]
    assert cs.envs["staging"].version == Version.parse("v1.0.0")
    assert cs.envs["staging"].tag.commit == c1
    assert state.divergences == ()


def test_git_daemon_remote(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.push()
    with git_daemon(edgit_repo.remote.parent) as url:
        state = snapshot(f"{url}/remote.git")
    assert list(state.components[ComponentRef("prompts", "extraction")].versions) == [Version.parse("v1.0.0")]
