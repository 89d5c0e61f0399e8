"""The journal outlives its machine: its copy on the remote (planner.txn.remotejournal).

An apply is SIGKILLed at every journal point on one machine (a clone), the machine is then gone
(its push processes die with it, its .planner/ is deleted) and ``planner recover`` runs in a
fresh clone that shares only the remote and the Cloudflare KV (the loopback double), as the next
CI runner would. The end must be all-old or all-new, with no journal copy left on the remote."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.txn import orphans
from planner.txn.journal import CRASH_ENV, Journal
from tests.cfkv_server import TOKEN
from tests.gitrepo import git
from tests.http_check_server import check_server
from tests.test_txn_crash import CASES, journal_copies, killed_apply, state
from tests.txn_fixture import EXT, RELEASE, TxnFixture, build, clone_checkout, cloudflare_fixture, write_plan_json


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TxnFixture]:
    yield from cloudflare_fixture(tmp_path, monkeypatch)


def machine_gone(fx: TxnFixture) -> None:
    """The crashed machine disappears: its processes (a push it left running) and its disk."""
    entries = Journal.open(fx.work).load()
    orphans.settle([e for e in entries if e["point"] == "pushing"], lambda _m: None, wait=0)
    shutil.rmtree(fx.work / ".planner")


def copy_of(fx: TxnFixture, ref: str) -> dict[str, object]:
    oid = git(fx.repo.remote, "rev-parse", ref)
    return dict(json.loads(git(fx.repo.remote, "cat-file", "blob", f"{oid}:journal.json")))


def test_an_apply_pushes_its_journal_copy_before_anything_else_and_removes_it_after(tmp_path: Path) -> None:
    fx = build(tmp_path)
    log = tmp_path / "pushes.log"
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(
        f"#!{sys.executable}\nimport sys\nwith open({str(log)!r}, 'a') as f:\n"
        "    f.write(sys.stdin.read().replace('\\n', ';') + '\\n')\n"
    )
    hook.chmod(0o755)
    path = write_plan_json(fx, fx.plan(RELEASE))
    done = fx.cli("apply", "--plan", str(path))
    assert done.returncode == 0, done.stderr
    pushes = log.read_text().splitlines()
    assert len(pushes) == 3, pushes
    zero = "0" * 40
    (first,) = [u for u in pushes[0].split(";") if u]
    old, new, ref = first.split()
    assert ref.startswith("refs/planner/journal/") and old == zero and new != zero  # created first
    assert "refs/tags/" in pushes[1] and "refs/planner/ledger" in pushes[1]  # then the commit point
    (last,) = [u for u in pushes[2].split(";") if u]
    assert last.split()[1:] == [zero, ref]  # then removed: deleted with its lease
    assert journal_copies(fx) == []


# Where the first machine's killed push may or may not have landed before the machine died.
_EITHER = {"pushing", "pushing:2", "pushing:3"}


@pytest.mark.slow
@pytest.mark.parametrize(("point", "ok", "end"), CASES, ids=[f"{c[0]}{'' if c[1] else '-failing'}" for c in CASES])
def test_an_apply_killed_on_one_machine_is_recovered_on_another(fx: TxnFixture, point: str, ok: bool, end: str) -> None:
    with check_server() as (base, _hits):
        _path, old, new = killed_apply(fx, base, point, ok)
        published = bool(journal_copies(fx))
        machine_gone(fx)
        other = clone_checkout(fx, "runner-2")
        rec = fx.cli("recover", work=other)
    if point == "verify:2" and not ok:
        assert rec.returncode == 1 and "undone by recover" in rec.stderr, rec.stderr
    elif not ok and rec.returncode == 1:
        # killed after deciding to undo but before the copy said so (`compensate` is journaled,
        # then the copy updated): the other machine rolls forward, the check fails again, undone
        assert point == "compensate" and "undone by recover" in rec.stderr, rec.stderr
    else:
        assert rec.returncode == 0, rec.stderr
    if published:
        assert "taking over the journal of apply" in rec.stderr
    else:  # killed before its copy landed: nothing had been written yet
        assert point in ("begin", "pushing") and "nothing to recover" in rec.stderr
    got = state(fx)
    if point in _EITHER:
        assert got in (old, new)
    else:
        assert got == (old if end == "old" else new)
    assert journal_copies(fx) == []
    assert not (other / ".planner/journal/current.jsonl").exists()


@pytest.mark.slow
def test_the_first_machine_back_after_another_recovered_changes_nothing(fx: TxnFixture) -> None:
    path = write_plan_json(fx, fx.plan(RELEASE))
    crashed = fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "committed"})
    assert crashed.returncode == -signal.SIGKILL
    other = clone_checkout(fx, "runner-2")
    assert fx.cli("recover", work=other).returncode == 0
    after = fx.snapshot()
    assert after["kv"]["staging"]["prompts/extraction@staging"] == b"Extract v1.1\n"  # finished there
    back = fx.cli("recover")  # the first machine's journal is still there
    assert back.returncode == 0, back.stderr
    assert "recovered from another machine" in back.stderr
    assert fx.snapshot() == after
    assert not (fx.work / ".planner/journal/current.jsonl").exists()


@pytest.mark.slow
def test_a_recover_killed_while_taking_over_is_finished_by_the_next_one(fx: TxnFixture) -> None:
    path = write_plan_json(fx, fx.plan(RELEASE))
    assert fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "committed"}).returncode == -signal.SIGKILL
    machine_gone(fx)
    other = clone_checkout(fx, "runner-2")
    killed = fx.cli("recover", work=other, env={CRASH_ENV: "adopt"})
    assert killed.returncode == -signal.SIGKILL
    assert len(journal_copies(fx)) == 1  # still on the remote: the taking over did not finish
    again = fx.cli("recover", work=other)
    assert again.returncode == 0, again.stderr
    staging = fx.kv("staging")
    assert staging["prompts/extraction@staging"] == b"Extract v1.1\n"
    assert staging["agents/analyzer@staging"] == b"model: b\n"
    assert journal_copies(fx) == []


@pytest.mark.slow
def test_the_copy_holds_the_intent_and_every_old_value(fx: TxnFixture) -> None:
    path = write_plan_json(fx, fx.plan(RELEASE))
    assert fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "published"}).returncode == -signal.SIGKILL
    (ref,) = journal_copies(fx)
    copy = copy_of(fx, ref)
    entries = copy["entries"]
    assert isinstance(entries, list) and [e["point"] for e in entries] == ["begin"]
    intent = entries[0]["intent"]
    assert ref.endswith(intent["apply_id"]) and intent["plan_name"] == "rel"
    kv = [k for p in intent["phases"] for k in p["kv"]]
    olds = {k["key"]: k["old"]["blob"] for k in kv if k["old"]}
    blobs = copy["blobs"]
    assert isinstance(blobs, dict) and olds and set(olds.values()) <= set(blobs)
    assert TOKEN not in json.dumps(copy)  # no secret
    status = fx.cli("status", "--format", "json")  # and status says an apply is not closed
    assert status.returncode == 0, status.stderr
    (problem,) = json.loads(status.stdout)["problems"]
    assert problem.startswith(f"apply {intent['apply_id']} is in flight or was interrupted")


@pytest.mark.slow
def test_a_late_recover_leaves_the_keys_of_tags_moved_again_since(fx: TxnFixture) -> None:
    """Roll forward writes an environment key only while the tag addressing it is still ours."""
    path = write_plan_json(fx, fx.plan(RELEASE))
    assert fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "committed"}).returncode == -signal.SIGKILL
    machine_gone(fx)
    # meanwhile someone moves extraction's staging tag back by hand and fixes its key
    fx.repo.set_env(EXT, "staging", "v1.0.0")
    git(fx.work, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/staging")
    t = fx.targets()
    from planner.kv.base import KVEntry

    t["staging"].store.put_many([KVEntry("prompts/extraction@staging", b"by hand\n")])
    rec = fx.cli("recover", work=clone_checkout(fx, "runner-2"))
    assert rec.returncode == 0, rec.stderr
    assert "moved again since" in rec.stderr
    staging = fx.kv("staging")
    assert staging["prompts/extraction@staging"] == b"by hand\n"  # left to whoever moved the tag
    assert staging["agents/analyzer@staging"] == b"model: b\n"  # ours: finished


@pytest.mark.slow
def test_a_late_recover_of_a_kv_only_repair_leaves_keys_written_since(fx: TxnFixture) -> None:
    """No tag moves, so no tag can say whose a key is: a key holding neither the apply's old nor its
    new value was written by someone else since, and roll-forward leaves it; the others it finishes."""
    from planner.kv.base import KVEntry
    from planner.kv.bindings import content_metadata

    t = fx.targets()
    t["staging"].store.put_many([KVEntry("prompts/summary@staging", b"drifted\n")])  # to repair
    repair = (
        'plan "repair" {\n  promote prompts/summary v1.0.0 to staging\n  promote prompts/extraction v1.0.0 to production\n'
        "  promote agents/analyzer v1.0.0 to staging\n  promote prompts/extraction v1.0.0 to staging\n}\n"
    )
    plan = fx.plan(repair)
    assert all(tc.action == "noop" for tc in plan.tags) and plan.has_changes
    path = write_plan_json(fx, plan)
    assert fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "committed"}).returncode == -signal.SIGKILL
    machine_gone(fx)
    t["staging"].store.put_many(  # meanwhile: other bytes, and our bytes under someone else's metadata
        [
            KVEntry("prompts/summary@staging", b"someone else\n"),
            KVEntry("agents/analyzer@staging", b"model: a\n", {"written_by": "someone else"}),
        ]
    )
    fx.repo.set_env(EXT, "staging", "v1.1.0")  # and extraction's staging tag moved on, its key not yet
    git(fx.work, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/staging")
    rec = fx.cli("recover", work=clone_checkout(fx, "runner-2"))
    assert rec.returncode == 0, rec.stderr
    assert "3 key(s) were changed by someone else since (value or tag)" in rec.stderr
    assert fx.kv_metadata("staging")["prompts/extraction@staging"] == {}  # v1.0.0's metadata not written
    assert fx.kv("staging")["prompts/summary@staging"] == b"someone else\n"  # left as it is
    assert fx.kv_metadata("staging")["agents/analyzer@staging"] == {"written_by": "someone else"}
    # production's key held the old value (same bytes, no metadata): finished, metadata and all
    assert fx.kv_metadata("production")["prompts/extraction@production"] == content_metadata(
        "prompts/extraction", "v1.0.0", fx.commits["ext1"], b"Extract v1\n"
    )
    assert journal_copies(fx) == []


@pytest.mark.slow
def test_an_adopted_undo_leaves_what_another_apply_wrote_since(fx: TxnFixture) -> None:
    """Killed before its push: another apply then moves the same tag to the same version. The
    adopted undo restores only keys that hold our new value AND whose tag is back at our old one."""
    path = write_plan_json(fx, fx.plan(RELEASE))
    assert fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "commit"}).returncode == -signal.SIGKILL
    machine_gone(fx)
    third = clone_checkout(fx, "laptop")
    one = 'plan "one" {\n  promote prompts/extraction v1.1.0 to staging\n}\n'
    (third / "plans").mkdir(exist_ok=True)
    (third / "plans/one.plan").write_text(one)
    applied = fx.cli("apply", str(third / "plans/one.plan"), "--auto-approve", work=third)
    assert applied.returncode == 0, applied.stderr
    assert "other apply journal(s) on the remote" in applied.stderr  # it was told
    moved = git(fx.repo.remote, "rev-parse", f"refs/tags/{EXT}/staging")
    rec = fx.cli("recover", work=clone_checkout(fx, "runner-2"))
    assert rec.returncode == 0, rec.stderr
    assert "undone" in rec.stderr
    assert git(fx.repo.remote, "rev-parse", f"refs/tags/{EXT}/staging") == moved
    staging = fx.kv("staging")
    assert staging["prompts/extraction@staging"] == b"Extract v1.1\n"  # the other apply's, kept
    assert staging["agents/analyzer@staging"] == b"model: a\n"  # never changed
    assert journal_copies(fx) == []


def test_a_copy_that_is_not_a_journal_is_refused_and_odd_names_are_ignored(tmp_path: Path) -> None:
    fx = build(tmp_path)
    before = fx.snapshot()
    blob = git(fx.work, "hash-object", "-w", "--stdin", input=b"not json")
    tree = git(fx.work, "mktree", input=f"100644 blob {blob}\tjournal.json\n".encode())
    commit = git(fx.work, "commit-tree", tree, "-m", "x")
    git(fx.work, "push", "-q", "origin", f"{commit}:refs/planner/journal/--upload-pack=touch-x")
    ignored = fx.cli("recover")
    assert ignored.returncode == 0 and "nothing to recover" in ignored.stderr, ignored.stderr
    git(fx.work, "push", "-q", "origin", f"{commit}:refs/planner/journal/20261203T000000Z-deadbeef")
    refused = fx.cli("recover")
    assert refused.returncode == 1
    assert "is not a journal this planner can read" in refused.stderr and "Traceback" not in refused.stderr
    assert fx.snapshot()["kv"] == before["kv"]


def test_a_copy_still_being_pushed_when_apply_died_is_waited_for_then_removed(tmp_path: Path) -> None:
    """Killed while the copy's push is held on a slow remote: recover waits for that push before
    it reads the remote, so the copy that lands is seen as this apply's and removed with it."""
    fx = build(tmp_path)
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(
        f"#!{sys.executable}\nimport sys, time\n"
        "if any(u.startswith('0' * 40) and 'refs/planner/journal/' in u for u in sys.stdin):\n"
        "    time.sleep(2)  # only the copy's creation\n"
    )
    hook.chmod(0o755)
    before = fx.snapshot()
    path = write_plan_json(fx, fx.plan(RELEASE))
    crashed = fx.cli("apply", "--plan", str(path), env={CRASH_ENV: "pushing"})  # the first push: the copy's
    assert crashed.returncode == -signal.SIGKILL
    assert journal_copies(fx) == []  # still held by the hook
    rec = fx.cli("recover")
    assert rec.returncode == 0, rec.stderr
    assert journal_copies(fx) == []
    assert fx.snapshot() == before


# Every field recover reads but old_sha256 (a copy of a missing key: old None, old_sha256 None).
_KEY_WITHOUT_OLD_SHA = {
    **{name: "x" for name in ("namespace", "key", "blob", "new_sha256", "component", "slot")},
    **{"level": 0, "metadata": {}, "phase": "project", "old": None},
}


@pytest.mark.parametrize(
    "intent_change",
    [
        {"phases": None},
        {"phases": [{"tags": [], "kv": [{"namespace": 5}], "verifies": []}]},
        {"ledger_before": 7},
        {"phases": [{"tags": [], "kv": [_KEY_WITHOUT_OLD_SHA], "verifies": []}]},
    ],
    ids=["no-phases", "a-key-of-the-wrong-type", "ledger-before-not-a-string", "a-key-without-old-sha256"],
)
def test_a_copy_of_the_wrong_shape_is_refused_before_anything_is_written(
    tmp_path: Path, intent_change: dict[str, object]
) -> None:
    fx = build(tmp_path)
    apply_id = "20261203T000000Z-deadbeef"
    intent = {"apply_id": apply_id, "ledger_before": None, "phases": [], **intent_change}
    record = {"format": 1, "entries": [{"point": "begin", "intent": intent}, ["not an entry"]][:1], "blobs": {}}
    blob = git(fx.work, "hash-object", "-w", "--stdin", input=json.dumps(record).encode())
    tree = git(fx.work, "mktree", input=f"100644 blob {blob}\tjournal.json\n".encode())
    git(
        fx.work,
        "push",
        "-q",
        "origin",
        f"{git(fx.work, 'commit-tree', tree, '-m', 'x')}:refs/planner/journal/{apply_id}",
    )
    before = fx.snapshot()
    for _ in range(2):  # and again: nothing was left behind that would block this checkout
        refused = fx.cli("recover")
        assert refused.returncode == 1, refused.stderr
        assert "is not a journal this planner can read" in refused.stderr and "Traceback" not in refused.stderr
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    assert fx.snapshot() == before
