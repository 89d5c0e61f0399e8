"""planner.txn.push against real bare remotes: path, file:// and git:// (git daemon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.gitio import GitError
from planner.txn.errors import ConflictError
from planner.txn.push import NewTag, RefUpdate, atomic_push, write_tag_objects
from tests.gitrepo import EdgitRepo, git, git_daemon

REF_A = "refs/tags/components/prompts/a/staging"
REF_B = "refs/tags/components/prompts/b/staging"
REF_V = "refs/tags/components/prompts/a/v1.0.0"


def _setup(root: Path) -> tuple[EdgitRepo, str, str, dict[str, str]]:
    repo = EdgitRepo.create(root)
    c1 = repo.commit("one")
    c2 = repo.commit("two")
    old = write_tag_objects(repo.work, [NewTag(REF_A, c1, "Set a to staging"), NewTag(REF_B, c1, "Set b to staging")])
    git(repo.work, "update-ref", REF_A, old[REF_A])
    git(repo.work, "update-ref", REF_B, old[REF_B])
    repo.push()
    return repo, c1, c2, old


def test_tag_objects_are_edgit_style(tmp_path: Path) -> None:
    repo, _c1, c2, _old = _setup(tmp_path)
    oid = write_tag_objects(repo.work, [NewTag(REF_V, c2, "Release a v1.0.0")])[REF_V]
    body = git(repo.work, "cat-file", "-p", oid)
    assert f"object {c2}\ntype commit\ntag components/prompts/a/v1.0.0\ntagger " in body
    assert body.endswith("\n\nRelease a v1.0.0")
    assert git(repo.work, "cat-file", "-t", oid) == "tag"


@pytest.mark.parametrize("kind", ["path", "file", "git"])
def test_atomic_push_moves_every_ref(tmp_path: Path, kind: str) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(repo.work, [NewTag(REF_A, c2, "Set a to staging"), NewTag(REF_V, c2, "Release a v1.0.0")])
    updates = [RefUpdate(REF_A, old[REF_A], new[REF_A]), RefUpdate(REF_V, None, new[REF_V])]
    if kind == "git":
        with git_daemon(tmp_path) as base:
            atomic_push(repo.work, f"{base}/remote.git", updates)
    else:
        atomic_push(repo.work, str(repo.remote) if kind == "path" else repo.remote.as_uri(), updates)
    refs = repo.remote_refs()
    assert refs[REF_A] == new[REF_A] and refs[REF_V] == new[REF_V] and refs[REF_B] == old[REF_B]
    # staging refs are cleaned up
    assert git(repo.work, "for-each-ref", "refs/planner/outgoing") == ""


@pytest.mark.parametrize("kind", ["path", "git"])
def test_a_lease_failure_changes_nothing_and_names_every_moved_ref(tmp_path: Path, kind: str) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(
        repo.work,
        [NewTag(REF_A, c2, "Set a to staging"), NewTag(REF_B, c2, "Set b to staging"), NewTag(REF_V, c2, "R")],
    )
    before = repo.remote_refs()
    wrong = "1" * 40
    updates = [
        RefUpdate(REF_A, wrong, new[REF_A]),  # someone else moved A
        RefUpdate(REF_B, old[REF_B], new[REF_B]),  # B is as expected
        RefUpdate(REF_V, old[REF_A], new[REF_V]),  # expected to exist but does not
    ]
    with pytest.raises(ConflictError) as info:
        if kind == "git":
            with git_daemon(tmp_path) as base:
                atomic_push(repo.work, f"{base}/remote.git", updates)
        else:
            atomic_push(repo.work, str(repo.remote), updates)
    assert set(info.value.refs) == {REF_A, REF_V}
    assert info.value.exit_code == 5
    assert REF_A in info.value.message and REF_B not in info.value.message
    assert repo.remote_refs() == before


def test_creating_an_existing_ref_is_a_conflict(tmp_path: Path) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(repo.work, [NewTag(REF_A, c2, "x")])
    with pytest.raises(ConflictError) as info:
        atomic_push(repo.work, str(repo.remote), [RefUpdate(REF_A, None, new[REF_A])])
    assert info.value.refs == {REF_A: old[REF_A]}
    assert repo.remote_refs()[REF_A] == old[REF_A]


def test_delete_with_lease(tmp_path: Path) -> None:
    repo, _c1, _c2, old = _setup(tmp_path)
    atomic_push(repo.work, str(repo.remote), [RefUpdate(REF_A, old[REF_A], None)])
    assert REF_A not in repo.remote_refs()


def test_hostile_remote_is_refused(tmp_path: Path) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    with pytest.raises(GitError):
        atomic_push(repo.work, "--upload-pack=touch /tmp/x", [RefUpdate(REF_A, old[REF_A], c2)])
