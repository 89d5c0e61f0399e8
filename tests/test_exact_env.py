"""An env tag names exactly the version it was promoted to, whatever else shares its commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gitrepo import EdgitRepo, git
from tests.txn_fixture import EXT, TxnFixture, build

MINE = "components/prompts/mine"


def two_at_one_commit(repo: EdgitRepo) -> str:
    """edgit's way: v1.2.0-rc.1 and v1.2.0 on one commit, staging nested on the rc's tag object,
    production on the release's (and v1.10.0 / v1.10.1-0 sharing another commit)."""
    c1 = repo.register("mine", "prompt", "prompts/mine.md", "one\n")
    repo.tag_version(MINE, "v1.2.0-rc.1", c1)
    repo.tag_version(MINE, "v1.2.0", c1)
    repo.set_env(MINE, "staging", "v1.2.0-rc.1", nested=True)
    repo.set_env(MINE, "production", "v1.2.0", nested=True)
    repo.write("prompts/mine.md", "two\n")
    c2 = repo.commit("two")
    repo.tag_version(MINE, "v1.10.1-0", c2)
    repo.tag_version(MINE, "v1.10.0", c2)
    repo.set_env(MINE, "dev", "v1.10.0", nested=True)
    repo.push()
    return c1


def status_envs(work: Path, remote: str) -> tuple[dict[str, Any], str]:
    from tests.txn_fixture import TxnFixture as _T  # reuse its subprocess runner

    out = _T(EdgitRepo(work, Path(remote)), {}, remote).cli("status", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    (comp,) = [c for c in doc["components"] if c["component"] == "prompts/mine"]
    return {e: (d["version"] if d else None) for e, d in comp["envs"].items()}, out.stderr


def test_status_names_the_nested_version_not_the_highest(edgit_repo: EdgitRepo) -> None:
    two_at_one_commit(edgit_repo)
    envs, err = status_envs(edgit_repo.work, str(edgit_repo.remote))
    assert envs == {"staging": "v1.2.0-rc.1", "production": "v1.2.0", "dev": "v1.10.0"}
    assert "share its commit" not in err


def test_clone_without_the_tag_objects_fetches_them_in_one_go(edgit_repo: EdgitRepo, tmp_path: Path) -> None:
    two_at_one_commit(edgit_repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-tags", "--single-branch", str(edgit_repo.remote), str(clone))
    assert git(clone, "tag") == ""  # none of the tag objects are here
    envs, _ = status_envs(clone, str(edgit_repo.remote))
    assert envs["staging"] == "v1.2.0-rc.1"


def test_planner_promote_of_the_rc_is_what_status_shows(tmp_path: Path) -> None:
    fx: TxnFixture = build(tmp_path)
    fx.repo.tag_version(EXT, "v1.1.0-rc.1", fx.commits["ext11"])  # shares v1.1.0's commit
    fx.repo.push()
    out = fx.cli("promote", "prompts/extraction", "v1.1.0-rc.1", "--to", "staging", "--auto-approve")
    assert out.returncode == 0, out.stderr
    # The planner's env tag points at the commit (DESIGN.md section 2); the ledger names the version.
    assert git(fx.repo.remote, "cat-file", "-p", f"refs/tags/{EXT}/staging").startswith(
        f"object {fx.commits['ext11']}\ntype commit\n"
    )
    out = fx.cli("status", "--format", "json")
    assert out.returncode == 0, out.stderr
    (comp,) = [c for c in json.loads(out.stdout)["components"] if c["component"] == "prompts/extraction"]
    assert comp["envs"]["staging"]["version"] == "v1.1.0-rc.1"
    # A tag at that commit written by hand (neither edgit-nested nor in the ledger): the highest, said so.
    git(fx.work, "tag", "-f", "-a", "-m", "Set extraction to production", f"{EXT}/production", fx.commits["ext11"])
    git(fx.work, "push", "-q", "--force", str(fx.repo.remote), f"refs/tags/{EXT}/production")
    out = fx.cli("status", "--format", "json")
    (comp,) = [c for c in json.loads(out.stdout)["components"] if c["component"] == "prompts/extraction"]
    assert comp["envs"]["production"]["version"] == "v1.1.0"
    assert f"refs/tags/{EXT}/production: versions v1.1.0-rc.1, v1.1.0 share its commit" in out.stdout


def test_promoting_the_other_version_at_the_same_commit_is_a_move(tmp_path: Path) -> None:
    fx: TxnFixture = build(tmp_path)
    fx.repo.tag_version(EXT, "v1.1.0-rc.1", fx.commits["ext11"])
    fx.repo.set_env(EXT, "staging", "v1.1.0")  # edgit: staging nested on v1.1.0
    fx.repo.push()
    out = fx.cli("promote", "prompts/extraction", "v1.1.0-rc.1", "--to", "staging", "--auto-approve")
    assert out.returncode == 0, out.stderr
    out = fx.cli("status", "--format", "json")
    (comp,) = [c for c in json.loads(out.stdout)["components"] if c["component"] == "prompts/extraction"]
    assert comp["envs"]["staging"]["version"] == "v1.1.0-rc.1"


def test_many_alike_problems_are_counted_on_stderr_and_listed_in_json(tmp_path: Path) -> None:
    """25 env tags written by hand at a commit two versions share: 25 problems in the JSON document,
    but stderr shows the first 20 and one line counting the rest (not a wall of alike lines)."""
    from planner.status import SHOWN_PER_KIND

    fx: TxnFixture = build(tmp_path)
    commit = fx.commits["ext11"]
    names = [f"components/prompts/many{i:02d}" for i in range(SHOWN_PER_KIND + 5)]
    for name in names:
        for slot in ("v1.0.0", "v1.0.1"):
            git(fx.work, "tag", "-a", "-m", f"{slot}", f"{name}/{slot}", commit)
        git(fx.work, "tag", "-a", "-m", "by hand", f"{name}/production", commit)
    git(fx.work, "push", "-q", str(fx.repo.remote), *[f"refs/tags/{n}/*:refs/tags/{n}/*" for n in names])
    out = fx.cli("status", "--format", "json")
    assert out.returncode == 0, out.stderr
    problems = [p for p in json.loads(out.stdout)["problems"] if "share its commit" in p]
    assert sorted(p.split(":")[0] for p in problems) == [f"refs/tags/{n}/production" for n in names]
    lines = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert sum("share its commit" in line for line in lines) == SHOWN_PER_KIND
    assert "warning: ... and 5 more problems (`planner status --format json` lists them all under 'problems')" in lines
    text = fx.cli("status")
    assert text.returncode == 0 and text.stderr == out.stderr  # the table's stderr is the same
