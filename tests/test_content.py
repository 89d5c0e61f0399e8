from __future__ import annotations

from pathlib import Path

from planner.content import read_blobs, sha256_hex
from tests.gitrepo import EdgitRepo


def test_read_blobs_one_batch(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1 text\n")
    edgit_repo.write("prompts/extraction.md", b"v2 \x00 binary\n")
    c2 = edgit_repo.commit("v2")
    edgit_repo.write("dir with space/é @x.txt", "odd\n")
    c3 = edgit_repo.commit("odd path")
    got = read_blobs(
        edgit_repo.work,
        [
            (c1, "prompts/extraction.md"),
            (c2, "prompts/extraction.md"),
            (c1, "nope.txt"),
            (c3, "dir with space/é @x.txt"),
            (c3, "prompts"),  # a tree, not a file
            ("0" * 40, "prompts/extraction.md"),
            (c1, "prompts/extraction.md"),  # duplicate
        ],
    )
    assert got[(c1, "prompts/extraction.md")] == b"v1 text\n"
    assert got[(c2, "prompts/extraction.md")] == b"v2 \x00 binary\n"
    assert got[(c1, "nope.txt")] is None
    assert got[(c3, "dir with space/é @x.txt")] == b"odd\n"
    assert got[(c3, "prompts")] is None
    assert got[("0" * 40, "prompts/extraction.md")] is None
    assert len(got) == 6


def test_read_blobs_empty(tmp_path: Path) -> None:
    assert read_blobs(tmp_path, []) == {}
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
