"""apply_plan end to end: real repo + bare remote + SQLite KV; plans compiled for real."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from planner.gitio import Repo
from planner.kv.base import KVError
from planner.model import LEDGER_REF
from planner.txn.engine import apply_plan
from planner.txn.errors import ApplyFailedError, RequireIdError, StalePlanError
from tests.gitrepo import git
from tests.txn_fixture import ANA, EXT, RELEASE, SUMM, TxnFixture, build, ledger_records, sha


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def test_happy_path_lands_everything_and_records_the_ledger(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    before = fx.snapshot()
    result = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert result.status == "applied" and result.pushes == 1 and result.tags_changed == 2
    # tags: env tags point at the COMMIT (not nested), with edgit's message
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]
    body = git(fx.repo.remote, "cat-file", "-p", f"refs/tags/{EXT}/staging")
    assert body.startswith(f"object {fx.commits['ext11']}\ntype commit\ntag {EXT}/staging\n")
    assert body.endswith("Set extraction to staging")
    # untouched refs
    after = fx.snapshot()
    assert after["refs"][f"refs/tags/{SUMM}/staging"] == before["refs"][f"refs/tags/{SUMM}/staging"]
    # KV: env keys and version keys
    kv = fx.kv("staging")
    assert kv["prompts/extraction@staging"] == b"Extract v1.1\n"
    assert kv["prompts/extraction@v1.1.0"] == b"Extract v1.1\n"
    assert kv["agents/analyzer@staging"] == b"model: b\n"
    assert kv["prompts/summary@staging"] == b"Summarize v1\n"
    # ledger: one commit, exact record
    assert fx.ledger() == result.ledger_commits[0]
    recs = ledger_records(fx)
    assert len(recs) == 1
    rec = recs[0]
    assert rec["apply_id"] == result.apply_id and rec["plan_id"] == plan.plan_id
    assert rec["plan_source_sha256"] == plan.source_sha256 and rec["plan_name"] == "rel"
    refs = {r["ref"]: r for r in rec["refs"]}
    ext = refs[f"refs/tags/{EXT}/staging"]
    assert ext["before"] == before["refs"][f"refs/tags/{EXT}/staging"]
    assert ext["after"] == after["refs"][f"refs/tags/{EXT}/staging"]
    assert (ext["before_version"], ext["after_version"]) == ("v1.0.0", "v1.1.0")
    assert (ext["before_commit"], ext["after_commit"]) == (fx.commits["ext1"], fx.commits["ext11"])
    keys = {k["key"]: k for k in rec["kv"]}
    assert keys["prompts/extraction@staging"]["before_sha256"] == sha(b"Extract v1\n")
    assert keys["prompts/extraction@staging"]["after_sha256"] == sha(b"Extract v1.1\n")
    assert keys["prompts/extraction@v1.1.0"]["before_sha256"] is None
    # the journal was closed
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    assert (fx.work / f".planner/journal/done/{result.apply_id}.jsonl").exists()


def test_reapply_is_a_noop(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    snap = fx.snapshot()
    again = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert again.status == "noop" and again.pushes == 0
    assert fx.snapshot() == snap
    path = Path(fx.work.parent / "p.json")
    from planner.artifact import dump

    path.write_text(dump(plan))
    out = fx.cli("apply", "--plan", str(path))
    assert out.returncode == 0 and "already applied" in out.stderr


def test_stale_plan_names_the_moved_tag_and_changes_nothing(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    fx.repo.set_env(EXT, "staging", "v1.1.0")  # someone else promotes extraction meanwhile
    git(fx.work, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/staging")
    before = fx.snapshot()
    with pytest.raises(StalePlanError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert info.value.exit_code == 4
    assert f"refs/tags/{EXT}/staging" in info.value.moved and f"refs/tags/{EXT}/staging" in info.value.message
    assert f"refs/tags/{ANA}/staging" not in info.value.moved
    assert fx.snapshot() == before


def test_stale_kv_value_is_named(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    from planner.kv.base import KVEntry

    fx.targets()["staging"].store.put_many([KVEntry("agents/analyzer@staging", b"hand edited\n")])
    with pytest.raises(StalePlanError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert list(info.value.moved) == ["kv staging:agents/analyzer@staging"]


def test_wrong_require_id_is_refused(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    before = fx.snapshot()
    with pytest.raises(RequireIdError):
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), require_id="0" * 64)
    assert fx.snapshot() == before
    ok = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), require_id=plan.plan_id)
    assert ok.status == "applied"


class FailingPut:
    """Fault injector around the REAL SqliteKV: put_many fails ``times`` times when the batch holds ``key``."""

    def __init__(self, inner: object, key: str, times: int = 1) -> None:
        self.inner, self.key, self.times = inner, key, times
        self.name = "failing"

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def put_many(self, entries: object) -> None:
        batch = list(entries)  # type: ignore[call-overload]
        if self.times > 0 and any(e.key == self.key for e in batch):
            self.times -= 1
            raise KVError(f"injected failure writing {self.key}")
        self.inner.put_many(batch)  # type: ignore[attr-defined]


class Target:
    def __init__(self, store: object) -> None:
        self.store = store


def test_kv_failure_after_commit_is_compensated(fx: TxnFixture) -> None:
    plan = fx.plan(RELEASE)
    before = fx.snapshot()
    targets = dict(fx.targets())
    targets["staging"] = Target(FailingPut(targets["staging"].store, "agents/analyzer@staging"))  # type: ignore[assignment]
    with pytest.raises(ApplyFailedError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=targets)
    assert "injected failure" in info.value.message and "undone" in info.value.message
    assert fx.snapshot() == before  # tags, ledger and every KV key as before (new version keys deleted)
    assert not (fx.work / ".planner/journal/current.jsonl").exists()


def test_history_filters(fx: TxnFixture) -> None:
    apply_plan(fx.plan(RELEASE), repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    apply_plan(
        fx.plan('plan "p" {\n  promote prompts/extraction v1.1.0 to production\n}\n'),
        repo=fx.work,
        remote=fx.remote_url,
        targets=fx.targets(),
    )
    assert [r["plan_name"] for r in ledger_records(fx)] == ["p", "rel"]
    out = fx.cli("history", "agents/analyzer", "--format", "json")
    assert [r["plan_name"] for r in json.loads(out.stdout)["applies"]] == ["rel"]
    out = fx.cli("history", "--env", "production", "--format", "json")
    assert [r["plan_name"] for r in json.loads(out.stdout)["applies"]] == ["p"]
    text = fx.cli("history")
    assert text.returncode == 0 and "    prompts/extraction staging: v1.0.0 -> v1.1.0\n" in text.stdout
    assert "components/" not in text.stdout  # the component as plans write it, not its tag name
    assert git(fx.repo.remote, "rev-list", "--count", LEDGER_REF) == "2"


def test_rollback_without_version_returns_to_previous_target(fx: TxnFixture) -> None:
    apply_plan(fx.plan(RELEASE), repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    back = fx.plan('plan "back" {\n  rollback prompts/extraction in staging\n}\n')
    [change] = [t for t in back.tags if t.action != "noop"]
    assert change.new_commit == fx.commits["ext1"] and change.new_version == "v1.0.0"
    apply_plan(back, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]
    assert fx.kv("staging")["prompts/extraction@staging"] == b"Extract v1\n"


def test_revert_writes_the_inverse_plan(fx: TxnFixture) -> None:
    res = apply_plan(fx.plan(RELEASE), repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    out_file = fx.work.parent / "revert.plan"
    out = fx.cli("revert", res.apply_id, "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    text = out_file.read_text()
    assert "rollback prompts/extraction in staging to v1.0.0" in text
    assert "rollback agents/analyzer in staging to v1.0.0" in text
    apply_plan(fx.plan(text, "revert.plan"), repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana1"]


def test_promote_one_liner(fx: TxnFixture) -> None:
    out = fx.cli("promote", "prompts/extraction", "v1.1.0", "--to", "production", "--auto-approve")
    assert out.returncode == 0, out.stderr
    assert fx.peeled(f"refs/tags/{EXT}/production") == fx.commits["ext11"]
    assert fx.kv("production")["prompts/extraction@production"] == b"Extract v1.1\n"
    assert ledger_records(fx)[0]["plan_name"].startswith("promote-extraction")


def test_failed_compensation_exits_6_and_recover_undoes(fx: TxnFixture) -> None:
    from planner.txn.errors import PartialApplyError
    from planner.txn.recover import recover

    plan = fx.plan(RELEASE)
    before = fx.snapshot()
    targets = dict(fx.targets())
    targets["staging"] = Target(FailingPut(targets["staging"].store, "agents/analyzer@staging", times=2))  # type: ignore[assignment]
    with pytest.raises(PartialApplyError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=targets)
    assert info.value.exit_code == 6 and "planner recover" in info.value.message
    assert (fx.work / ".planner/journal/current.jsonl").exists()
    with pytest.raises(PartialApplyError):  # a new apply refuses while a journal is open
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    res = recover(repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert res.outcome == "undone"
    assert fx.snapshot() == before


def test_plan_and_apply_share_one_pipeline(fx: TxnFixture) -> None:
    # `planner plan` resolves a versionless rollback from the ledger exactly as apply does, and a
    # plan file given by absolute path gets the same (repository-relative) source, so the same id.
    apply_plan(fx.plan(RELEASE), repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    plan_file = fx.work / "plans" / "back.plan"
    plan_file.parent.mkdir(exist_ok=True)
    plan_file.write_text('plan "back" {\n  rollback prompts/extraction in staging\n}\n')
    checked = fx.cli("check", str(plan_file))
    assert checked.returncode == 0, checked.stderr
    out = fx.cli("plan", str(plan_file), "--format", "json")
    assert out.returncode == 0, out.stderr
    planned = json.loads(out.stdout)
    assert planned["source_file"] == "plans/back.plan"
    [change] = [t for t in planned["tags"] if t["action"] != "noop"]
    assert change["new_commit"] == fx.commits["ext1"] and change["new_version"] == "v1.0.0"
    applied = fx.cli("apply", str(plan_file), "--format", "json", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["plan_id"] == planned["plan_id"]
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]


def test_ledger_actor_from_ci_or_git_config(tmp_path: Path) -> None:
    from planner.txn.ledger import actor

    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "Ana Lyst")
    git(tmp_path, "config", "user.email", "ana@example.invalid")
    assert actor(Repo(tmp_path), environ={}) == "Ana Lyst <ana@example.invalid>"
    assert actor(Repo(tmp_path), environ={"GITHUB_ACTOR": "octocat"}) == "octocat"
    git(tmp_path, "config", "--add", "user.name", "Later Name")  # several values: the last wins, as in git
    assert actor(Repo(tmp_path), environ={}) == "Later Name <ana@example.invalid>"


def test_precheck_sees_the_locked_read_and_can_stop_the_apply(fx: TxnFixture) -> None:
    """The CLI re-checks the policies here: on the refs read under the apply lock, before any change."""
    from planner.errors import PlannerError
    from planner.txn.journal import Journal
    from planner.txn.lock import checkout_lock

    plan = fx.plan(RELEASE)
    before, kv_before = fx.snapshot(), fx.kv("staging")
    seen: list[dict[str, tuple[str, str]]] = []

    def refuse(remote_refs: Mapping[str, tuple[str, str]]) -> None:
        # The lock is held: a second taker is refused (non-blocking check of the same lock file).
        with pytest.raises(PlannerError), checkout_lock(Journal.open(fx.work).root):
            pass
        seen.append(dict(remote_refs))
        raise PlannerError("blocked by policy 'test'")

    with pytest.raises(PlannerError, match="blocked by policy 'test'"):
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), precheck=refuse)
    ours = {ref: oid for ref, oid in fx.repo.remote_refs().items() if ref.startswith(("refs/tags/", "refs/planner/"))}
    assert {ref: obj for ref, (obj, _) in seen[0].items()} == ours
    assert fx.snapshot() == before and fx.kv("staging") == kv_before  # nothing changed
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    # and a precheck that passes lets the apply land
    result = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), precheck=seen.append)
    assert result.status == "applied" and len(seen) == 2


def test_stale_metadata_alone_is_rewritten_then_in_place(fx: TxnFixture) -> None:
    """staging already serves v1.0.0's bytes, written without the planner's metadata: re-promoting
    v1.0.0 moves no tag but rewrites the metadata (and only it); after that the plan is a no-op."""
    from planner.kv.bindings import content_metadata

    text = 'plan "meta" {\n  promote prompts/extraction v1.0.0 to staging\n}\n'
    key = "prompts/extraction@staging"
    assert fx.kv_metadata("staging")[key] == {}
    plan = fx.plan(text)
    assert all(t.action == "noop" for t in plan.tags)
    (k,) = [k for k in plan.kv if k.key == key]
    assert not k.unchanged and k.old_sha256 == k.new_sha256
    before = fx.snapshot()
    result = apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert result.status == "applied" and result.tags_changed == 0
    after = fx.snapshot()
    assert after["kv"]["staging"][key] == before["kv"]["staging"][key] == b"Extract v1\n"  # bytes untouched
    assert after["kv"]["staging"]["prompts/extraction@v1.0.0"] == b"Extract v1\n"  # the missing version key
    assert after["kv_metadata"]["staging"][key] == content_metadata(
        "prompts/extraction", "v1.0.0", fx.commits["ext1"], b"Extract v1\n"
    )
    again = fx.plan(text)
    assert not again.has_changes and all(k.unchanged for k in again.kv)
    assert apply_plan(again, repo=fx.work, remote=fx.remote_url, targets=fx.targets()).status == "noop"


def test_a_saved_plan_whose_in_place_tag_moved_since_is_stale_before_it_rewrites_metadata(fx: TxnFixture) -> None:
    """P found staging in place at v1.0.0 and only rewrites its key's metadata. Q then promotes
    v1.2.0 (same commit, same bytes). Applying the saved P must not write metadata naming v1.0.0
    over the tag that now names v1.2.0: the plan is stale."""
    text = 'plan "meta" {\n  promote prompts/extraction v1.0.0 to staging\n}\n'
    saved = fx.plan(text)
    fx.repo.tag_version(EXT, "v1.2.0", fx.commits["ext1"])
    fx.repo.push()
    newer = fx.plan('plan "q" {\n  promote prompts/extraction v1.2.0 to staging\n}\n')
    assert apply_plan(newer, repo=fx.work, remote=fx.remote_url, targets=fx.targets()).status == "applied"
    before = fx.snapshot()
    assert before["kv_metadata"]["staging"]["prompts/extraction@staging"]["version"] == "v1.2.0"
    with pytest.raises(StalePlanError) as info:
        apply_plan(saved, repo=fx.work, remote=fx.remote_url, targets=fx.targets())
    assert list(info.value.moved) == [f"refs/tags/{EXT}/staging"]
    assert "(the plan found it in place)" in info.value.message
    assert fx.snapshot() == before
