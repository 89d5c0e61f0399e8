"""planner.txn.push against real bare remotes: path, file:// and git:// (git daemon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.gitio import GitError, Remote, Repo
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
    old = write_tag_objects(
        Repo(repo.work), [NewTag(REF_A, c1, "Set a to staging"), NewTag(REF_B, c1, "Set b to staging")]
    )
    git(repo.work, "update-ref", REF_A, old[REF_A])
    git(repo.work, "update-ref", REF_B, old[REF_B])
    repo.push()
    return repo, c1, c2, old


def test_tag_objects_are_edgit_style(tmp_path: Path) -> None:
    repo, _c1, c2, _old = _setup(tmp_path)
    oid = write_tag_objects(Repo(repo.work), [NewTag(REF_V, c2, "Release a v1.0.0")])[REF_V]
    body = git(repo.work, "cat-file", "-p", oid)
    assert f"object {c2}\ntype commit\ntag components/prompts/a/v1.0.0\ntagger " in body
    assert body.endswith("\n\nRelease a v1.0.0")
    assert git(repo.work, "cat-file", "-t", oid) == "tag"


@pytest.mark.parametrize("kind", ["path", "file", "git"])
def test_atomic_push_moves_every_ref(tmp_path: Path, kind: str) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(
        Repo(repo.work), [NewTag(REF_A, c2, "Set a to staging"), NewTag(REF_V, c2, "Release a v1.0.0")]
    )
    updates = [RefUpdate(REF_A, old[REF_A], new[REF_A]), RefUpdate(REF_V, None, new[REF_V])]
    if kind == "git":
        with git_daemon(tmp_path) as base:
            atomic_push(Repo(repo.work), Remote(f"{base}/remote.git"), updates)
    else:
        atomic_push(Repo(repo.work), Remote(str(repo.remote) if kind == "path" else repo.remote.as_uri()), updates)
    refs = repo.remote_refs()
    assert refs[REF_A] == new[REF_A] and refs[REF_V] == new[REF_V] and refs[REF_B] == old[REF_B]
    # staging refs are cleaned up
    assert git(repo.work, "for-each-ref", "refs/planner/outgoing") == ""


@pytest.mark.parametrize("kind", ["path", "git"])
def test_a_lease_failure_changes_nothing_and_names_every_moved_ref(tmp_path: Path, kind: str) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(
        Repo(repo.work),
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
                atomic_push(Repo(repo.work), Remote(f"{base}/remote.git"), updates)
        else:
            atomic_push(Repo(repo.work), Remote(str(repo.remote)), updates)
    assert set(info.value.refs) == {REF_A, REF_V}
    assert info.value.exit_code == 5
    assert REF_A in info.value.message and REF_B not in info.value.message
    assert repo.remote_refs() == before


def test_creating_an_existing_ref_is_a_conflict(tmp_path: Path) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(Repo(repo.work), [NewTag(REF_A, c2, "x")])
    with pytest.raises(ConflictError) as info:
        atomic_push(Repo(repo.work), Remote(str(repo.remote)), [RefUpdate(REF_A, None, new[REF_A])])
    assert info.value.refs == {REF_A: old[REF_A]}
    assert repo.remote_refs()[REF_A] == old[REF_A]


def test_delete_with_lease(tmp_path: Path) -> None:
    repo, _c1, _c2, old = _setup(tmp_path)
    atomic_push(Repo(repo.work), Remote(str(repo.remote)), [RefUpdate(REF_A, old[REF_A], None)])
    assert REF_A not in repo.remote_refs()


def test_hostile_remote_is_refused(tmp_path: Path) -> None:
    repo, _c1, c2, old = _setup(tmp_path)
    with pytest.raises(GitError):
        atomic_push(Repo(repo.work), Remote("--upload-pack=touch /tmp/x"), [RefUpdate(REF_A, old[REF_A], c2)])


def test_remote_name_and_many_deletions_in_one_push(tmp_path: Path) -> None:
    """Refspecs live in an included config file: 500 deletions keep the command line short."""
    repo, _c1, c2, old = _setup(tmp_path)
    refs = [f"refs/tags/components/prompts/p{i}/v1.0.0" for i in range(500)]
    created = write_tag_objects(Repo(repo.work), [NewTag(r, c2, "Release p v1.0.0") for r in refs])
    atomic_push(Repo(repo.work), Remote("origin"), [RefUpdate(r, None, created[r]) for r in refs])
    assert all(repo.remote_refs()[r] == created[r] for r in refs)
    atomic_push(Repo(repo.work), Remote("origin"), [RefUpdate(r, created[r], None) for r in refs])
    remaining = repo.remote_refs()
    assert not any(r in remaining for r in refs) and remaining[REF_A] == old[REF_A]


def test_a_move_between_advertisement_and_update_rejects_the_whole_push(tmp_path: Path) -> None:
    """A remote pre-receive hook moves REF_B after the advertisement our pre-push hook checked (a
    concurrent push landing in that window): receive-pack's locked old-value check must reject
    the atomic push, so REF_A does not move either."""
    repo, _c1, c2, old = _setup(tmp_path)
    other = write_tag_objects(Repo(repo.work), [NewTag(REF_B, c2, "someone else")])[REF_B]
    git(repo.work, "push", "-q", "origin", f"{other}:refs/keep/other")  # the object exists remotely
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\ncat >/dev/null\nunset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        f"exec git update-ref {REF_B} {other}\n"
    )
    hook.chmod(0o755)
    new = write_tag_objects(Repo(repo.work), [NewTag(REF_A, c2, "a"), NewTag(REF_B, c2, "b"), NewTag(REF_V, c2, "v")])
    ledger = "refs/planner/ledger"
    with pytest.raises(ConflictError) as info:
        atomic_push(
            Repo(repo.work),
            Remote(str(repo.remote)),
            [
                RefUpdate(REF_A, old[REF_A], new[REF_A]),
                RefUpdate(REF_B, old[REF_B], new[REF_B]),
                RefUpdate(REF_V, None, new[REF_V]),  # a new tag: nobody touched it
                RefUpdate(ledger, None, c2),  # the ledger: nobody touched it
            ],
        )
    refs = repo.remote_refs()
    assert refs[REF_A] == old[REF_A] and refs[REF_B] == other and REF_V not in refs and ledger not in refs
    # Exactly the ref that moved, with what it is now: not every ref --atomic rejected along with it.
    assert info.value.refs == {REF_B: other}, info.value.message
    msg = info.value.message
    assert "moved 1 ref(s)" in msg and f"{REF_B}: now {other[:12]} (expected {old[REF_B][:12]})" in msg
    assert REF_A not in msg and REF_V not in msg and ledger not in msg
    assert "moved during the push" in msg


def test_a_skipped_hook_is_reported_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: a hook git cannot execute is skipped by git; the push must not pass as checked."""
    import planner.txn.push as push

    real = push._write_hook

    def not_executable(tmp: Path) -> Path:
        hooks = real(tmp)
        (hooks / "pre-push").chmod(0o644)
        return hooks

    monkeypatch.setattr(push, "_write_hook", not_executable)
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(Repo(repo.work), [NewTag(REF_A, c2, "a")])
    with pytest.raises(GitError, match="did not run"):
        atomic_push(Repo(repo.work), Remote(str(repo.remote)), [RefUpdate(REF_A, old[REF_A], new[REF_A])])


def test_a_ref_rewritten_to_its_own_object_is_in_place_not_moved(tmp_path: Path) -> None:
    # An env tag rewritten identically (same commit, message and tagger, within the same second:
    # two reconcile applies back to back) has the same object id: git leaves it out of the push
    # as up to date. That is the expected value, not someone else's move (it was reported as one).
    repo, _c1, c2, old = _setup(tmp_path)
    new = write_tag_objects(Repo(repo.work), [NewTag(REF_V, c2, "Release a v1.0.0")])
    updates = [RefUpdate(REF_A, old[REF_A], old[REF_A]), RefUpdate(REF_V, None, new[REF_V])]
    atomic_push(Repo(repo.work), Remote(str(repo.remote)), updates)
    refs = repo.remote_refs()
    assert refs[REF_A] == old[REF_A] and refs[REF_V] == new[REF_V]
    # ... and its lease still holds: had someone moved it meanwhile, nothing lands
    other = write_tag_objects(Repo(repo.work), [NewTag(REF_B, c2, "someone else")])[REF_B]
    git(repo.work, "push", "-q", "-f", "origin", f"{other}:{REF_A}")  # someone else moves it
    v2 = "refs/tags/components/prompts/a/v2.0.0"
    newer = write_tag_objects(Repo(repo.work), [NewTag(v2, c2, "Release a v2.0.0")])
    with pytest.raises(ConflictError):
        atomic_push(
            Repo(repo.work),
            Remote(str(repo.remote)),
            [RefUpdate(REF_A, old[REF_A], old[REF_A]), RefUpdate(v2, None, newer[v2])],
        )
    assert v2 not in repo.remote_refs() and repo.remote_refs()[REF_A] == other
