"""``create C VERSION at main`` in a clone made the way ``actions/checkout`` makes it: shallow
(depth 1), detached HEAD, no local branch. The name resolves against the remote's branches and
the commit's files are fetched when this checkout lacks them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GIT_ENV, EdgitRepo, git

PLANNER = str(Path(sys.executable).with_name("planner"))


def planner(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run([PLANNER, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def actions_checkout(remote: Path, dest: Path, ref: str) -> None:
    """What actions/checkout@v4 runs for a pull request: init, fetch one ref at depth 1, detach."""
    git(dest.parent, "init", "-q", str(dest))
    git(dest, "remote", "add", "origin", remote.as_uri())
    git(dest, "fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{ref}:refs/remotes/pull/1/merge")
    git(dest, "checkout", "-q", "--detach", "refs/remotes/pull/1/merge")


def build(tmp_path: Path) -> tuple[EdgitRepo, str]:
    repo = EdgitRepo.create(tmp_path)
    repo.register("extraction", "prompt", "prompts/extraction.md", "Extract v1\n")
    repo.tag_version("components/prompts/extraction", "v1.0.0")
    repo.set_env("components/prompts/extraction", "staging", "v1.0.0")
    repo.push()
    repo.write("prompts/extraction.md", "Extract v1.1\n")
    main = repo.commit("extraction 1.1")
    git(repo.work, "push", "-q", "origin", "main")
    git(repo.work, "push", "-q", "origin", "main:refs/pull/1/head")
    return repo, main


def test_create_at_main_in_a_shallow_detached_clone_without_local_main(tmp_path: Path) -> None:
    repo, main = build(tmp_path)
    ci = tmp_path / "ci"
    actions_checkout(repo.remote, ci, "refs/pull/1/head")
    assert git(ci, "rev-parse", "--is-shallow-repository") == "true"
    assert git(ci, "for-each-ref", "refs/heads/") == ""  # no local branch at all
    (ci / "plans").mkdir()
    (ci / "plans" / "new.plan").write_text(
        'plan "n" {\n  create prompts/extraction v1.1.0 at main\n  promote prompts/extraction v1.1.0 to staging\n}\n'
    )
    res = planner(ci, "plan", "plans/new.plan", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert main in res.stdout  # the remote's main, not the checkout's HEAD or an error
    res = planner(ci, "apply", "plans/new.plan", "--auto-approve")
    assert res.returncode == 0, res.stderr
    peeled = git(repo.remote, "rev-parse", "refs/tags/components/prompts/extraction/v1.1.0^{commit}")
    assert peeled == main
    assert git(ci, "rev-parse", "--is-shallow-repository") == "true"  # still shallow: nothing deepened


def test_a_name_that_is_nowhere_is_still_an_error(tmp_path: Path) -> None:
    repo, _ = build(tmp_path)
    ci = tmp_path / "ci"
    actions_checkout(repo.remote, ci, "refs/pull/1/head")
    (ci / "x.plan").write_text('plan "n" {\n  create prompts/extraction v1.1.0 at mian\n}\n')
    res = planner(ci, "check", "x.plan")
    assert res.returncode == 1
    assert "x.plan:2:39: error: cannot resolve 'mian' to a commit" in res.stdout
    # the checkout has no branch of its own: the suggestion comes from the remote's branches
    assert "(did you mean 'main'?)" in res.stdout
