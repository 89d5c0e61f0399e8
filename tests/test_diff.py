from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from planner.blobs import read_files
from planner.errors import Span
from planner.gitio import Remote, Repo
from planner.kv.base import KVEntry
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.plan.changes import ComputedPlan, Notice
from planner.plan.diff import DiffError, compute_plan, content_changes
from planner.policy import plan_marks
from planner.registry import Registry, load_registry
from planner.render.markdown import render_markdown
from planner.render.text import render_text
from planner.state import snapshot
from planner.steps import CreateVersion, MoveEnv, OrderedPlan, Override, Reject
from tests.gitrepo import git
from tests.release_fixture import ANA, EXT, INV, REP, RTR, Release, Target, build_release, ordered_plan


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def rel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    return build_release(tmp_path, monkeypatch)


def compute(rel: Release, ordered: OrderedPlan | None = None):  # type: ignore[no-untyped-def]
    work = rel.repo.work
    return compute_plan(
        ordered or ordered_plan(rel),
        repo=Repo(work),
        registry=load_registry(work),
        state=snapshot(Repo(work), Remote("origin")),
        targets=rel.targets(),
    )


def test_tags_create_move_noop(rel: Release) -> None:
    plan = compute(rel)
    tags = {t.ref.removeprefix("refs/tags/"): t for t in plan.tags}
    create = tags[f"{ANA}/v2.0.0"]
    assert (create.action, create.old_object, create.new_commit) == ("create", None, rel.c["c3"])
    assert create.message == "Release analyzer v2.0.0"
    stg = tags[f"{EXT}/staging"]
    assert (stg.action, stg.old_version, stg.new_version, stg.new_commit) == ("move", "v1.0.0", "v1.1.0", rel.c["c2"])
    assert stg.old_object == rel.repo.remote_refs()[f"refs/tags/{EXT}/staging"]  # the lease: the tag object
    assert stg.old_commit == rel.c["c1"] and stg.message == "Set extraction to staging"
    assert tags[f"{INV}/production"].old_version == "v1.0.0" and tags[f"{INV}/production"].new_version == "v0.9.0"
    noop = tags[f"{REP}/staging"]
    assert noop.action == "noop" and noop.old_commit == noop.new_commit == rel.c["c1"]
    assert tags[f"{RTR}/dev"].action == "move"
    assert [t.level for t in plan.tags] == [0, 0, 0, 0, 0, 1, 1]
    assert plan.has_changes
    assert [n.kind for n in plan.notices] == ["needs-rebuild"]
    assert plan.notices[0].component == "scripts/router" and plan.notices[0].env == "dev"
    assert [(v.env, v.expect, v.within_seconds) for v in plan.verifies] == [("staging", 200, 30.0)]


def test_kv_writes_per_namespace_and_layout(rel: Release) -> None:
    plan = compute(rel)
    kv = {(k.namespace, k.key): k for k in plan.kv}
    assert not any("router" in k.key for k in plan.kv)  # logic components are never synced to KV
    new_ext = b"Extract the invoice fields.\nReturn JSON.\n"
    k = kv[("staging", "prompts/extraction@v1.1.0")]
    assert (k.phase, k.old_sha256, k.new_sha256, k.size) == ("prepare", None, sha(new_ext), len(new_ext))
    k = kv[("staging", "prompts/extraction@staging")]
    assert k.phase == "project" and k.old_sha256 == sha(b"Extract the invoice fields.\nBe brief.\n")
    assert k.metadata == {
        "component": "prompts/extraction",
        "version": "v1.1.0",
        "commit": rel.c["c2"],
        "sha256": sha(new_ext),
    }
    assert not k.unchanged and k.blob == git(rel.repo.work, "rev-parse", f"{rel.c['c2']}:prompts/extraction.md")
    # The no-op's keys already hold the right content: listed as unchanged (trailing newlines kept).
    assert kv[("staging", "templates/report@staging")].unchanged
    assert kv[("staging", "templates/report@v1.0.0")].unchanged
    # Rollback to v0.9.0: read at c1, where the registry still names the old path.
    inv = kv[("production", "schemas/invoice@production")]
    assert inv.path == "schemas/invoice.json" and inv.new_sha256 == sha(b'{"type": "object"}\n')
    assert inv.old_sha256 == sha(b'{"type": "object", "required": ["total"]}\n')
    # Production has two layouts: every slot is written under both.
    assert ("production", "components/schemas/invoice/v0.9.0") in kv
    assert ("production", "components/prompts/extraction/production") in kv
    assert {k.key for k in plan.kv if k.namespace == "dev"} == {"agents/analyzer@v2.0.0", "agents/analyzer@dev"}
    # A create alone writes nothing: the only analyzer keys come from the move into dev.
    assert all(k.step_id.startswith("move ") for k in plan.kv)


def test_content_from_git_objects_not_the_working_tree(rel: Release) -> None:
    before = compute(rel)
    rel.repo.write("prompts/extraction.md", "UNCOMMITTED EDIT\n")
    rel.repo.write(".edgit/components.json", "{not json")
    (rel.repo.work / "agents/analyzer.yaml").unlink()
    after = compute_plan(
        ordered_plan(rel),
        repo=Repo(rel.repo.work),
        registry=Registry({}),  # every path comes from the registry blob at the target commit
        state=snapshot(Repo(rel.repo.work), Remote("origin")),
        targets=rel.targets(),
    )
    assert [(k.key, k.new_sha256) for k in after.kv] == [(k.key, k.new_sha256) for k in before.kv]


def test_batched_reads(rel: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[object]] = []
    real_run = Repo.run

    def counting(self, args, **kw):  # type: ignore[no-untyped-def]
        if args[0] == "cat-file":  # the object reads (planner.blobs); not `remote get-url`
            calls.append(list(args))
        return real_run(self, args, **kw)

    monkeypatch.setattr(Repo, "run", counting)
    gets: list[tuple[str, int]] = []
    targets = rel.targets()
    for t in targets.values():
        real_get = t.store.get_many

        def get_many(keys, _real=real_get, _ns=t.env):  # type: ignore[no-untyped-def]
            gets.append((_ns, len(keys)))
            return _real(keys)

        object.__setattr__(t.store, "get_many", get_many)
    compute_plan(
        ordered_plan(rel),
        repo=Repo(rel.repo.work),
        registry=load_registry(rel.repo.work),
        state=snapshot(Repo(rel.repo.work), Remote("origin")),
        targets=targets,
    )
    assert len(calls) == 3  # registries at the commits, the containing trees, the blobs: for any N
    assert sorted(ns for ns, _ in gets) == ["dev", "production", "staging"]  # ONE get_many per namespace


def test_binary_safe_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = build_release(tmp_path, monkeypatch)
    data = bytes(range(256)) + b"\r\n\x00end\n\n"
    rel.repo.write("bin/blob.dat", data)
    c = rel.repo.commit("binary")
    got = read_files(Repo(rel.repo.work), [(c, "bin/blob.dat"), (c, "nope"), (c, "bin")])
    blob = got[(c, "bin/blob.dat")]
    assert blob is not None and blob.data == data
    assert got[(c, "nope")] is None and got[(c, "bin")] is None  # missing file, and a directory


def test_version_tag_at_another_commit_is_an_error(rel: Release) -> None:
    ext = ComponentRef("prompts", "extraction")
    bad = CreateVersion(ext, "components", Version.parse("v1.0.0"), rel.c["c2"], "main")
    with pytest.raises(DiffError, match="immutable"):
        compute(rel, ordered_plan(rel, extra=[bad]))


def test_existing_version_at_same_commit_is_noop(rel: Release) -> None:
    ext = ComponentRef("prompts", "extraction")
    same = CreateVersion(ext, "components", Version.parse("v1.0.0"), rel.c["c1"], "main")
    plan = compute(rel, ordered_plan(rel, extra=[same]))
    t = next(t for t in plan.tags if t.step_id == same.id)
    assert t.action == "noop" and t.old_object is not None


def test_missing_file_at_commit_is_an_error(rel: Release) -> None:
    registry = load_registry(rel.repo.work)
    (rel.repo.work / "templates/report.txt").unlink()
    c5 = rel.repo.commit("drop report")
    move = MoveEnv(ComponentRef("templates", "report"), "components", "dev", None, c5, "promote")
    work = rel.repo.work
    with pytest.raises(DiffError, match=r"templates/report.txt does not exist at commit"):
        compute_plan(
            ordered_plan(rel, extra=[move]),
            repo=Repo(work),
            registry=registry,
            state=snapshot(Repo(work), Remote("origin")),
            targets=rel.targets(),
        )


def _store_plan_values(rel: Release, plan: ComputedPlan, *, with_metadata: bool) -> None:
    for t in rel.targets().values():
        blobs = read_files(Repo(rel.repo.work), [(k.commit, k.path) for k in plan.kv if k.namespace == t.env])
        entries = [
            KVEntry(k.key, blobs[(k.commit, k.path)].data, k.metadata if with_metadata else {})  # type: ignore[union-attr]
            for k in plan.kv
            if k.namespace == t.env
        ]
        SqliteKV(rel.kv_path, t.env).put_many(entries)


def test_kv_in_sync_makes_no_writes(rel: Release) -> None:
    """Once every key holds the target content and metadata, the KV list is all 'unchanged'."""
    plan = compute(rel)
    _store_plan_values(rel, plan, with_metadata=True)
    again = compute(rel)
    assert all(k.unchanged for k in again.kv)


def test_kv_with_the_right_bytes_but_stale_metadata_is_rewritten(rel: Release) -> None:
    """The right bytes are not enough: metadata naming another version (or none) is rewritten, and
    the review says it is the metadata alone that changes."""
    plan = compute(rel)
    _store_plan_values(rel, plan, with_metadata=False)
    again = compute(rel)
    assert again.kv and not any(k.unchanged for k in again.kv)
    assert all(k.old_sha256 == k.new_sha256 for k in again.kv)
    text = render_text(again)
    assert "same content, new metadata (" in text and "unchanged (" not in text
    assert "| same content, new metadata |" in render_markdown(again)


def test_content_changes_for_review(rel: Release) -> None:
    plan = compute(rel)
    changes = {
        (c.component, c.env): c for c in content_changes(plan, Repo(rel.repo.work), load_registry(rel.repo.work))
    }
    stg = changes[("prompts/extraction", "staging")]
    assert stg.old == b"Extract the invoice fields.\nBe brief.\n"
    assert stg.new == b"Extract the invoice fields.\nReturn JSON.\n"
    assert ("templates/report", "staging") not in changes  # no-op
    assert ("scripts/router", "dev") not in changes  # logic: not synced, not diffed
    inv = changes[("schemas/invoice", "production")]
    assert inv.old_path == inv.new_path == "schemas/invoice.json"


def test_plan_never_writes(rel: Release) -> None:
    refs_before = rel.repo.remote_refs()
    kv_before = rel.kv_path.read_bytes()
    plan = compute(rel)
    content_changes(plan, Repo(rel.repo.work), load_registry(rel.repo.work))
    assert rel.repo.remote_refs() == refs_before
    assert rel.kv_path.read_bytes() == kv_before


def test_unbound_env_warns(rel: Release) -> None:
    work = rel.repo.work
    targets = {k: v for k, v in rel.targets().items() if k != "dev"}
    plan = compute_plan(
        ordered_plan(rel),
        repo=Repo(work),
        registry=load_registry(work),
        state=snapshot(Repo(work), Remote("origin")),
        targets=targets,
    )
    assert any(n.kind == "warning" and n.env == "dev" for n in plan.notices)
    assert not any(k.namespace == "dev" for k in plan.kv)
    assert isinstance(targets["staging"], Target)


def test_marks_become_step_dicts_and_notices_and_nothing_else(rel: Release) -> None:
    ext, v = ComponentRef("prompts", "extraction"), Version.parse
    marks = (Reject(ext, v("v1.0.0"), "bad dates", Span("plans/release.plan", 9, 3)), Override(ext, v("v1.1.0")))
    base = ordered_plan(rel)
    plain = compute(rel, base)
    marked = compute(rel, dataclasses.replace(base, marks=marks))
    assert marked.steps[:-2] == plain.steps and marked.levels == plain.levels
    assert list(marked.steps[-2:]) == [
        {
            "id": "reject prompts/extraction@v1.0.0",
            "kind": "reject",
            "component": "prompts/extraction",
            "version": "v1.0.0",
            "reason": "bad dates",
            "span": "plans/release.plan:9:3",
            "level": 0,
        },
        {
            "id": "override prompts/extraction@v1.1.0",
            "kind": "override",
            "component": "prompts/extraction",
            "version": "v1.1.0",
            "reason": "",
            "level": 0,
        },
    ]
    assert marked.notices[:-2] == plain.notices
    assert marked.notices[-2:] == (
        Notice("warning", "rejects prompts/extraction v1.0.0: bad dates", "prompts/extraction"),
        Notice("warning", "overrides prompts/extraction v1.1.0", "prompts/extraction"),
    )
    assert (marked.tags, marked.kv, marked.verifies) == (plain.tags, plain.kv, plain.verifies)
    assert marked.plan_id != plain.plan_id  # the marks are part of what is reviewed
    assert [(m["kind"], m["version"], m["step_id"]) for m in plan_marks(marked)[:2]] == [
        ("reject", "v1.0.0", "reject prompts/extraction@v1.0.0"),
        ("override", "v1.1.0", "override prompts/extraction@v1.1.0"),
    ]


def test_tree_reader_matches_direct_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.blobs import read_files_via_trees

    rel = build_release(tmp_path, monkeypatch)
    rel.repo.write("top.txt", "top\n")
    (rel.repo.work / "deep/a/b").mkdir(parents=True)
    rel.repo.write("deep/a/b/c.bin", b"\x00\xff\n\n")
    (rel.repo.work / "link.md").symlink_to("prompts/extraction.md")
    (rel.repo.work / "out.md").symlink_to("../outside.md")
    c = rel.repo.commit("shapes")
    reqs = [
        (c, "top.txt"),
        (c, "deep/a/b/c.bin"),
        (c, "deep/a"),
        (c, "link.md"),
        (c, "out.md"),
        (c, "nope/x"),
        (rel.c["c1"], "prompts/extraction.md"),
    ]
    via_trees = read_files_via_trees(Repo(rel.repo.work), reqs)
    assert via_trees == read_files(Repo(rel.repo.work), reqs)
    assert via_trees[(c, "deep/a/b/c.bin")].data == b"\x00\xff\n\n"  # type: ignore[union-attr]
    assert via_trees[(c, "link.md")].data == b"Extract the invoice fields.\nReturn JSON.\n"  # type: ignore[union-attr]
    assert via_trees[(c, "out.md")] is None and via_trees[(c, "deep/a")] is None and via_trees[(c, "nope/x")] is None
