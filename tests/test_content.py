from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.blobs import read_blobs_by_id, read_files
from planner.content import (
    UnknownComponentError,
    path_in_manifest,
    paths_in_registry,
    read_component_files,
    sha256_hex,
)
from planner.gitio import GitError, Repo
from planner.model import ComponentRef
from planner.registry import Component, Registry, load_registry
from tests.gitrepo import EdgitRepo, git


def test_read_files_one_batch(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1 text\n")
    edgit_repo.write("prompts/extraction.md", b"v2 \x00 binary\n")
    c2 = edgit_repo.commit("v2")
    edgit_repo.write("dir with space/é @x.txt", "odd\n")
    c3 = edgit_repo.commit("odd path")
    got = read_files(
        Repo(edgit_repo.work),
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
    data = {k: b.data if b is not None else None for k, b in got.items()}
    assert data[(c1, "prompts/extraction.md")] == b"v1 text\n"
    assert data[(c2, "prompts/extraction.md")] == b"v2 \x00 binary\n"
    assert data[(c1, "nope.txt")] is None
    assert data[(c3, "dir with space/é @x.txt")] == b"odd\n"
    assert data[(c3, "prompts")] is None
    assert data[("0" * 40, "prompts/extraction.md")] is None
    assert len(got) == 6


def test_read_files_empty(tmp_path: Path) -> None:
    assert read_files(Repo(tmp_path), []) == {}  # no git process at all: tmp_path is not a repository
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_read_blobs_by_id(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1 text\n")
    oid = git(edgit_repo.work, "rev-parse", f"{c1}:prompts/extraction.md")
    assert read_blobs_by_id(Repo(edgit_repo.work), [oid, oid]) == {oid: b"v1 text\n"}
    with pytest.raises(GitError, match="is not in this repository"):
        read_blobs_by_id(Repo(edgit_repo.work), [oid, "1" * 40])


def test_paths_in_registry_ignores_junk() -> None:
    doc = {"components": {"a": {"type": "prompt", "path": "p/a.md"}, "b": {"type": "?", "path": "x"}, "c": 3}}
    assert paths_in_registry(json.dumps(doc).encode()) == {ComponentRef("prompts", "a"): "p/a.md"}
    assert paths_in_registry(b"{not json") == {} and paths_in_registry(None) == {}


def test_component_files_follow_the_registry_at_each_commit(edgit_repo: EdgitRepo) -> None:
    c0 = edgit_repo.commit("before")
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    (edgit_repo.work / "prompts/extraction.md").unlink()
    c2 = edgit_repo.register("extraction", "prompt", "prompts/renamed.md", "v2\n")
    ext, nope = ComponentRef("prompts", "extraction"), ComponentRef("prompts", "nope")
    loads: list[int] = []

    def current() -> Registry:
        loads.append(1)
        return load_registry(edgit_repo.work)

    wanted = [(c1, ext), (c2, ext)]
    for via_trees in (True, False):
        got = read_component_files(Repo(edgit_repo.work), current, wanted, via_trees=via_trees)
        assert {k: (p, b.data if b else None) for k, (p, b) in got.items()} == {
            (c1, ext): ("prompts/extraction.md", b"v1\n"),  # the path as registered at c1
            (c2, ext): ("prompts/renamed.md", b"v2\n"),
        }
    assert loads == []  # every path came from the registry at its commit
    got = read_component_files(Repo(edgit_repo.work), current, [(c0, ext)])
    assert got == {(c0, ext): ("prompts/renamed.md", None)}  # today's path; no file yet at c0
    assert loads == [1]
    with pytest.raises(UnknownComponentError, match="prompts/nope is not in the registry at"):
        read_component_files(Repo(edgit_repo.work), current, [(c1, nope), (c1, ext)])
    got = read_component_files(Repo(edgit_repo.work), current, [(c1, nope), (c1, ext)], skip_unknown=True)
    assert list(got) == [(c1, ext)]


def test_manifest_components_follow_their_manifest_at_each_commit(edgit_repo: EdgitRepo) -> None:
    # Declared only by a component.yaml, renamed later: an old commit's content is the file the
    # manifest named then (today's path does not exist there, or is another file).
    manifest = "prompts/extraction/component.yaml"
    edgit_repo.write(manifest, "name: extraction\ntype: prompt\npath: ./prompt.md\n")
    edgit_repo.write("prompts/extraction/prompt.md", "one\n")
    edgit_repo.write("prompts/extraction/v2.md", "an unrelated draft\n")
    c1 = edgit_repo.commit("extraction v1")
    edgit_repo.write(manifest, "name: extraction\ntype: prompt\npath: v2.md\n")
    edgit_repo.write("prompts/extraction/v2.md", "two\n")
    c2 = edgit_repo.commit("extraction v2, renamed")
    edgit_repo.write(manifest, "name: extraction\ntype: prompt\npath: [not, a, string]\n")
    c3 = edgit_repo.commit("a broken manifest")
    edgit_repo.write(manifest, "name: other\ntype: prompt\npath: prompt.md\n")
    c4 = edgit_repo.commit("the file declares another component")
    edgit_repo.write(manifest, "name: extraction\ntype: prompt\npath: v2.md\n")
    edgit_repo.commit("fixed")
    ext = ComponentRef("prompts", "extraction")
    registry = load_registry(edgit_repo.work)
    assert registry.components[ext].source == manifest
    for via_trees in (True, False):
        got = read_component_files(
            Repo(edgit_repo.work), registry, [(c, ext) for c in (c1, c2, c3, c4)], via_trees=via_trees
        )
        assert {k: (p, b.data if b else None) for k, (p, b) in got.items()} == {
            (c1, ext): ("prompts/extraction/prompt.md", b"one\n"),  # not today's v2.md ("an unrelated draft")
            (c2, ext): ("prompts/extraction/v2.md", b"two\n"),
            (c3, ext): ("prompts/extraction/v2.md", b"two\n"),  # unreadable then: today's path
            (c4, ext): ("prompts/extraction/v2.md", b"two\n"),
        }


@pytest.mark.parametrize(
    "text",
    [
        b"name: extraction\ntype: prompt\npath: ../../etc/passwd\n",
        b"name: extraction\ntype: prompt\npath: /etc/passwd\n",
        b"name: extraction\ntype: agent-definition\npath: a.md\n",
        b"name: extraction\ntype: prompt\npath: &a a.md\nx: *a\n---\nname: x\n",
        b"name: extraction\ntype: prompt\npath: 7\n",
        b"{\n",
        b"\xff\xfe",
        b"- a\n",
        b'name: extraction\ntype: prompt\npath: "a\\nb.md"\n',  # a line break: git's batch reads refuse it
        b"name: extraction\ntype: prompt\npath: a.md\npath: b.md\n",  # repeated key
        b"name: extraction\ntype: prompt\npath: a.md\nuses: []\nuses: []\n",
        b"name: extraction\ntype: prompt\npath: a.md\ncolour: blue\n",  # unknown key
        b"name: extraction\ntype: prompt\npath: a.md\nprefix: nonsense\n",
    ],
)
def test_path_in_manifest_refuses_what_it_cannot_trust(text: bytes) -> None:
    comp = load_registry_component("prompts/extraction/component.yaml")
    assert path_in_manifest(text, "prompts/extraction/component.yaml", comp) is None


def load_registry_component(source: str) -> Component:
    return Component("extraction", "prompt", "prompts/extraction/v2.md", "components", (), source)


def test_path_in_manifest_is_relative_to_the_manifest() -> None:
    comp = load_registry_component("prompts/extraction/component.yaml")
    text = b"name: extraction\ntype: prompt\npath: ./sub//a.md\n"
    assert path_in_manifest(text, "prompts/extraction/component.yaml", comp) == "prompts/extraction/sub/a.md"
    text = b"name: extraction\ntype: prompt\npath: a.md\nprefix: logic\nuses: [prompts/other]\n"
    assert path_in_manifest(text, "prompts/extraction/component.yaml", comp) == "prompts/extraction/a.md"
    assert path_in_manifest(None, "prompts/extraction/component.yaml", comp) is None
