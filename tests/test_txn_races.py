"""Concurrent applies as real processes against one bare remote (issue 18).

A ``pre-receive`` hook on the remote that sleeps holds every push between the ref advertisement
and the ref update, so racing applies really overlap (as on a slow network)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.gitio import GitError, Remote, Repo
from planner.txn.engine import apply_plan
from planner.txn.errors import ConflictError
from tests.gitrepo import GIT_ENV, git
from tests.txn_fixture import (
    ANA,
    EXT,
    RELEASE,
    ROOT,
    SUMM,
    TxnFixture,
    clone_checkout,
    cloudflare_fixture,
    ledger_records,
    write_plan_json,
)

DISJOINT = {
    "ext-staging": "promote prompts/extraction v1.1.0 to staging",
    "ext-production": "promote prompts/extraction v1.1.0 to production",
    "ana-staging": "promote agents/analyzer v2.0.0 to staging",
    "summ-production": "promote prompts/summary v1.0.0 to production",
}


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TxnFixture]:
    yield from cloudflare_fixture(tmp_path, monkeypatch)


# The hooks below hold only pushes that move tags (the commit point), not those of the journal's
# copy (refs/planner/journal/*, planner.txn.remotejournal), which come before and after it.
ONLY_COMMIT_PUSHES = 'if "refs/tags/" not in sys.stdin.read():\n    sys.exit(0)\n'


def slow_remote(fx: TxnFixture, seconds: float) -> None:
    """Every push of tags to the bare remote waits ``seconds`` in pre-receive (after the advertisement)."""
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(f"#!{sys.executable}\nimport sys, time\n{ONLY_COMMIT_PUSHES}time.sleep({seconds})\n")
    hook.chmod(0o755)


def checkout(fx: TxnFixture, name: str) -> Path:
    """A clone of the remote sharing the fixture's Cloudflare KV (as CI runners do)."""
    return clone_checkout(fx, name)


def start(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "planner", *args, "--repo", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
    )


def test_disjoint_applies_all_land(fx: TxnFixture) -> None:
    plans = {
        name: write_plan_json(fx, fx.plan(f'plan "{name}" {{\n  {st}\n}}\n'), f"{name}.json")
        for name, st in DISJOINT.items()
    }
    works = {name: checkout(fx, f"w-{name}") for name in plans}
    slow_remote(fx, 0.5)
    procs = {name: start(works[name], "apply", "--plan", str(path)) for name, path in plans.items()}
    results = {name: (p.wait(timeout=180), p.stderr.read() if p.stderr else "") for name, p in procs.items()}
    for p in procs.values():
        p.communicate()
    assert {n: rc for n, (rc, _e) in results.items()} == dict.fromkeys(plans, 0), results
    assert sorted(r["plan_name"] for r in ledger_records(fx)) == sorted(plans)
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{EXT}/production") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]
    assert fx.peeled(f"refs/tags/{SUMM}/production") == fx.commits["summ1"]
    kv = fx.kv("production")
    assert kv["prompts/extraction@production"] == b"Extract v1.1\n"
    assert kv["prompts/summary@production"] == b"Summarize v1\n"
    assert fx.kv("staging")["agents/analyzer@staging"] == b"model: b\n"


SHARED = 'plan "shared" {\n  create prompts/extraction v1.2.0 at main\n  promote prompts/extraction v1.2.0 to production\n}\n'
VKEY = "prompts/extraction@v1.2.0"


def test_loser_keeps_the_version_key_the_winner_needs(fx: TxnFixture) -> None:
    """Two identities apply the same new version. Both read the key as missing; the other one
    lands while ours prepares; ours loses the push (exit 5) and must not delete the shared key."""
    work2 = checkout(fx, "w-other")
    plan = fx.plan(SHARED)
    path = write_plan_json(fx, plan, "shared.json")
    other = {"GIT_COMMITTER_NAME": "Other", "GIT_COMMITTER_EMAIL": "other@example.com"}

    def progress(msg: str) -> None:
        if msg.startswith("prepare:") and "again" not in msg:  # we read the key as missing
            proc = start(work2, "apply", "--plan", str(path), env=other)
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err

    with pytest.raises(ConflictError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), progress=progress)
    assert info.value.exit_code == 5
    tag = f"refs/tags/{EXT}/v1.2.0"
    assert tag in info.value.refs
    main = git(fx.work, "rev-parse", "main")
    assert fx.peeled(tag) == main and fx.peeled(f"refs/tags/{EXT}/production") == main
    production = fx.kv("production")
    assert production[VKEY] == (fx.work / "prompts/extraction.md").read_bytes()
    assert production["prompts/extraction@production"] == production[VKEY]
    assert "\ntagger Other <other@example.com>" in git(fx.repo.remote, "cat-file", "tag", tag)  # the winner's
    assert len(ledger_records(fx)) == 1


def test_undo_still_deletes_a_version_key_nobody_names(fx: TxnFixture) -> None:
    """The other side of the rule: a compensated apply whose version tag never landed leaves no key."""
    plan = fx.plan(SHARED)
    before = fx.kv("production")

    def progress(msg: str) -> None:
        if msg.startswith("commit:"):  # someone moves production first: our push is refused
            git(fx.work, "push", "-q", "--delete", fx.remote_url, f"refs/tags/{EXT}/production")

    with pytest.raises(ConflictError):
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), progress=progress)
    assert f"refs/tags/{EXT}/v1.2.0" not in fx.repo.remote_refs()
    assert fx.kv("production") == before and VKEY not in fx.kv("production")


def test_same_plan_twice_at_once_loser_changes_nothing_and_closes(
    fx: TxnFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same plan applied twice at once by the same identity in the same second: both build
    byte-identical tag objects. The loser's push is refused (exit 5); the remote holding "its"
    tag objects is the winner's push, not its own, so it must move nothing back and close."""
    for name, value in {**GIT_ENV, "GIT_COMMITTER_DATE": "1764000000 +0000"}.items():
        monkeypatch.setenv(name, value)  # the same identity, the same second, for both
    work2 = checkout(fx, "w-twin")
    plan = fx.plan(SHARED)
    path = write_plan_json(fx, plan, "twin.json")

    def progress(msg: str) -> None:
        if msg.startswith("commit:"):
            proc = start(work2, "apply", "--plan", str(path))
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err

    with pytest.raises(ConflictError) as info:
        apply_plan(plan, repo=fx.work, remote=fx.remote_url, targets=fx.targets(), progress=progress)
    assert info.value.exit_code == 5
    main = git(fx.work, "rev-parse", "main")
    assert fx.peeled(f"refs/tags/{EXT}/v1.2.0") == main and fx.peeled(f"refs/tags/{EXT}/production") == main
    assert len(ledger_records(fx)) == 1
    production = fx.kv("production")
    assert (
        production[VKEY]
        == production["prompts/extraction@production"]
        == (fx.work / "prompts/extraction.md").read_bytes()
    )
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    rec = fx.cli("recover")
    assert rec.returncode == 0, rec.stderr


def test_recover_undoes_under_a_ledger_others_appended_to(fx: TxnFixture) -> None:
    """An apply dies while compensating; another apply lands on top of its ledger commit before
    `planner recover` runs. The moved ledger is no reason to keep the journal: recover moves
    this apply's tags back, removes its record from the ledger (keeping the other's) and closes."""
    from tests.http_check_server import check_server

    work2 = checkout(fx, "w-later")
    other = write_plan_json(fx, fx.plan(f'plan "other" {{\n  {DISJOINT["ana-staging"]}\n}}\n'), "other.json")
    with check_server() as (base, _hits):
        text = f'plan "bad" {{\n  promote prompts/extraction v1.1.0 to staging\n  verify staging get "{base}/bad" expect 200\n}}\n'
        plan = write_plan_json(fx, fx.plan(text), "bad.json")
        died = fx.cli("apply", "--plan", str(plan), env={"PLANNER_CRASH_AT": "compensate"})
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]  # landed, not yet moved back
    later = start(work2, "apply", "--plan", str(other))
    _out, err = later.communicate(timeout=120)
    assert later.returncode == 0, err
    for _ in range(2):  # and a second recover finds nothing left to do
        rec = fx.cli("recover")
        assert rec.returncode == 0, rec.stderr
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]
    assert [r["plan_name"] for r in ledger_records(fx)] == ["other"]
    staging = fx.kv("staging")
    assert staging["prompts/extraction@staging"] == b"Extract v1\n"
    assert staging["agents/analyzer@staging"] == b"model: b\n"


def test_recover_leaves_a_tag_someone_else_moved_and_closes(fx: TxnFixture) -> None:
    """After this apply's push landed, someone else moved one of its tags: recover must not fail
    forever on that lease. The tag stays theirs; the rest is undone; the journal is closed."""
    from tests.http_check_server import check_server

    with check_server() as (base, _hits):
        text = (
            'plan "bad" {\n  promote prompts/extraction v1.1.0 to staging\n  promote agents/analyzer v2.0.0 to staging\n'
            f'  verify staging get "{base}/bad" expect 200\n}}\n'
        )
        plan = write_plan_json(fx, fx.plan(text), "bad2.json")
        died = fx.cli("apply", "--plan", str(plan), env={"PLANNER_CRASH_AT": "compensate"})
    assert died.returncode == -signal.SIGKILL, died.stderr
    ref = f"refs/tags/{ANA}/staging"
    git(fx.work, "tag", "-f", "-a", "-m", "by hand", ref.removeprefix("refs/tags/"), fx.commits["ext1"])
    git(fx.work, "push", "-q", "-f", fx.remote_url, f"{ref}:{ref}")
    theirs = fx.repo.remote_refs()[ref]
    rec = fx.cli("recover")
    assert rec.returncode == 0, rec.stderr
    assert "moved by someone else" in rec.stderr
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    assert fx.repo.remote_refs()[ref] == theirs
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext1"]
    assert ledger_records(fx) == []
    assert fx.kv("staging")["prompts/extraction@staging"] == b"Extract v1\n"


def test_a_push_that_lands_after_the_crash_is_waited_for(fx: TxnFixture) -> None:
    """apply is SIGKILLed while its push is held on a slow remote; `planner recover` runs at once.
    The orphaned push lands afterwards unless recover waits for it: the end must be all-new
    (it landed, recover finished the apply) or all-old, never tags new and KV old."""
    plan = write_plan_json(fx, fx.plan(RELEASE), "rel.json")
    marker = fx.work.parent / "push-started"
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(
        f"#!{sys.executable}\nimport pathlib, sys, time\n{ONLY_COMMIT_PUSHES}"
        f"pathlib.Path({str(marker)!r}).touch()\ntime.sleep(3)\n"
    )
    hook.chmod(0o755)
    before = fx.snapshot()
    proc = start(fx.work, "apply", "--plan", str(plan), "--remote", fx.remote_url)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the push never reached the remote"
    proc.kill()  # SIGKILL the apply only: its git push keeps running, as after a crash
    proc.communicate()
    rec = fx.cli("recover")
    assert rec.returncode == 0, rec.stderr
    time.sleep(4)  # any push still held by the hook has landed by now
    after = fx.snapshot()
    if after == before:
        return  # all-old (the push did not land)
    assert fx.peeled(f"refs/tags/{EXT}/staging") == fx.commits["ext11"]
    assert fx.peeled(f"refs/tags/{ANA}/staging") == fx.commits["ana2"]
    staging = fx.kv("staging")
    assert staging["prompts/extraction@staging"] == b"Extract v1.1\n"
    assert staging["agents/analyzer@staging"] == b"model: b\n"
    assert [r["plan_name"] for r in ledger_records(fx)] == ["rel"]


def test_a_push_apply_never_journaled_does_not_land(fx: TxnFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply dies between starting `git push` and journaling its pid: the pre-push hook waits
    for that entry and refuses the push, so nothing can land behind recover's back."""
    from planner.txn import push

    monkeypatch.setattr(push, "JOURNAL_WAIT", 1.0)
    journal = fx.work / ".planner/journal/current.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text('{"point":"begin"}\n')
    before = fx.repo.remote_refs()
    ref = f"refs/tags/{EXT}/staging"
    new = git(fx.work, "rev-parse", f"refs/tags/{EXT}/v1.1.0")
    update = push.RefUpdate(ref, before[ref], new)
    with pytest.raises(GitError) as info:  # record() never writes: as if apply died right there
        push.atomic_push(
            Repo(fx.work), Remote(fx.remote_url), [update], on_start=push.OnStart(journal, lambda _pid: None)
        )
    assert "never journaled" in info.value.message
    assert fx.repo.remote_refs() == before
    journaled = push.OnStart(journal, lambda pid: journal.write_text(journal.read_text() + f'{{"pgid":{pid},"x":1}}\n'))
    push.atomic_push(Repo(fx.work), Remote(fx.remote_url), [update], on_start=journaled)
    assert fx.repo.remote_refs()[ref] == new


def test_a_push_outliving_the_wait_is_killed_with_its_process_group(fx: TxnFixture) -> None:
    """The orphaned push is held far longer than `recover --push-wait`: recover kills its whole
    process group (git push, receive-pack, the hook) and undoes; nothing lands afterwards."""
    import inspect

    from planner.cli.apply import recover as recover_command
    from planner.txn import orphans

    default = inspect.signature(recover_command).parameters["push_wait"].default
    assert default == orphans.WAIT  # the CLI's documented default is the library's
    plan = write_plan_json(fx, fx.plan(RELEASE), "rel.json")
    marker = fx.work.parent / "push-held"
    hook = fx.repo.remote / "hooks" / "pre-receive"
    hook.write_text(  # records its pid and group, then holds the push for 120 s
        f"#!{sys.executable}\nimport os, pathlib, sys, time\n{ONLY_COMMIT_PUSHES}"
        f"pathlib.Path({str(marker)!r}).write_text(f'{{os.getpid()}} {{os.getpgid(0)}}')\ntime.sleep(120)\n"
    )
    hook.chmod(0o755)
    before = fx.snapshot()
    proc = start(fx.work, "apply", "--plan", str(plan), "--remote", fx.remote_url)
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    hook_pid, group = (int(x) for x in marker.read_text().split())
    proc.kill()  # SIGKILL the apply only: its push stays held by the hook
    proc.communicate()
    journal = (fx.work / ".planner/journal/current.jsonl").read_text()
    assert f'"pgid":{group}' in journal.replace(" ", "")  # the hook runs in the journaled push group
    assert orphans.alive({"pgid": group, "start": None})
    began = time.monotonic()
    rec = fx.cli("recover", "--push-wait", "1")
    took = time.monotonic() - began
    assert rec.returncode == 0, rec.stderr
    assert f"stopping push process group {group} (still running after 1 s)" in rec.stderr
    assert took < 30, took  # it did not wait for the hook's 120 s
    assert not orphans.alive({"pgid": group, "start": None})
    assert not Path(f"/proc/{hook_pid}").exists() or Path(f"/proc/{hook_pid}/stat").read_text().split()[2] == "Z"
    assert not (fx.work / ".planner/journal/current.jsonl").exists()
    time.sleep(1)
    assert fx.snapshot() == before  # all-old: killed inside pre-receive, before any ref moved
