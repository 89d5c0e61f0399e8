"""A checkout without the commit someone else released (edgit pushed it from another clone): the
planner fetches the missing commits in one batched fetch, or says exactly how to get them."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from planner.content import MissingCommitError, ensure_commits
from planner.gitio import Remote, Repo
from tests.gitrepo import EdgitRepo, git
from tests.txn_fixture import EXT, TxnFixture, build

CONFIG = 'remote = "origin"\n[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n'


def released_elsewhere(tmp_path: Path) -> tuple[TxnFixture, Path, str]:
    """A clone made before edgit (in the fixture's work tree) released v1.2.0 to staging and pushed."""
    (tmp_path / "fx").mkdir()
    fx = build(tmp_path / "fx")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(fx.repo.remote), str(clone))
    (clone / "planner.toml").write_text(CONFIG)
    (clone / ".git/info/exclude").write_text(".planner/\nplanner.toml\n")
    fx.repo.write("prompts/extraction.md", "Extract v1.2\n")
    c3 = fx.repo.commit("extraction 1.2")
    fx.repo.tag_version(EXT, "v1.2.0", c3)
    fx.repo.set_env(EXT, "staging", "v1.2.0")  # nested, as edgit writes it
    fx.repo.push()
    assert subprocess.run(["git", "cat-file", "-e", c3], cwd=clone, capture_output=True).returncode != 0
    return fx, clone, c3


def kv_value(clone: Path, key: str) -> bytes | None:
    with sqlite3.connect(clone / ".planner/kv.sqlite") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            cols = [r[1] for r in db.execute(f"pragma table_info({table})")]
            if "key" in cols and "value" in cols:
                row = db.execute(f"select value from {table} where key = ?", (key,)).fetchone()
                if row:
                    return bytes(row[0])
    return None


def test_sync_fetches_the_missing_commit_in_one_go(tmp_path: Path) -> None:
    fx, clone, c3 = released_elsewhere(tmp_path)
    out = TxnFixture(EdgitRepo(clone, fx.repo.remote), {}, str(fx.repo.remote)).cli("sync")
    assert out.returncode == 0, out.stderr
    assert "does not exist at commit" not in out.stdout + out.stderr
    git(clone, "cat-file", "-e", c3)  # fetched
    assert kv_value(clone, "prompts/extraction@staging") == b"Extract v1.2\n"


def test_commit_that_cannot_be_fetched_is_named_with_how_to_get_it(tmp_path: Path) -> None:
    _fx, clone, c3 = released_elsewhere(tmp_path)
    elsewhere = tmp_path / "unrelated.git"
    git(tmp_path, "init", "-q", "--bare", str(elsewhere))
    with pytest.raises(MissingCommitError) as info:
        ensure_commits(Repo(clone), [c3], Remote(str(elsewhere)))
    assert info.value.message == (
        f"commit {c3[:12]} is not in this checkout and fetching from {elsewhere} failed; "
        f"run `git fetch --tags {elsewhere}` in {clone} and try again"
    )
    with pytest.raises(MissingCommitError, match=f"commit {c3[:12]} is not in this checkout; run `git fetch"):
        ensure_commits(Repo(clone), [c3], None)
