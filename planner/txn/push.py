"""The git commit point: ONE ``git push --atomic`` of many refs, each checked against its lease.

Why not ``--force-with-lease=<ref>:<oid>`` per ref: git matches every lease against every ref, so
the CLI grows quadratically (measured: 2.3 s for 1,000 refs, 14 s for 4,000; bench/README.md).

What we do instead (near-linear, still atomic per ref):

1. Write every new annotated tag object in ONE ``git hash-object -t tag -w --stdin-paths``.
2. Point staging refs ``refs/planner/outgoing/<id>/...`` at the new objects in ONE
   ``git update-ref --stdin``, so the push needs one wildcard refspec
   (``+refs/planner/outgoing/<id>/tags/*:refs/tags/*``) whatever the number of refs: no
   per-refspec matching cost. The refspecs (that one, the ledger's, and deletions, which need one
   each) go into a temporary remote in a config file included with ``-c include.path=...``, so
   the command line has a constant length (no ARG_MAX limit, even for 50,000 refs).
3. Push with ``--atomic`` and a ``pre-push`` hook (``-c core.hooksPath=<tmp>``). git gives the hook
   ``<local ref> <local oid> <remote ref> <remote oid>`` per ref, the remote oid taken from the ref
   advertisement of this same connection; the hook aborts unless every remote oid equals our
   expected old value (zeros: must not exist) and every expected ref is listed (an unlisted ref is
   already up to date, i.e. someone else moved it). send-pack then sends each command as
   ``<advertised old> <new> <ref>`` and receive-pack verifies that old value under the ref lock
   inside one transaction, so a move that lands between the advertisement and the update fails
   the whole atomic push. Expectation and update are therefore atomic per ref, as with leases.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.gitio import GitError, Opt, Remote, Repo
from planner.gitremote import redact_url
from planner.txn.errors import ConflictError

ZERO = "0" * 40
PUSH_TIMEOUT = 600  # seconds, as for every other git process (planner.gitio.run_git)
JOURNAL_WAIT = 30.0  # seconds the pre-push hook waits for apply to journal the push (OnStart)
OUTGOING = "refs/planner/outgoing"

# The hook: compare what the remote advertised with what we expect; write what differs to a file.
_HOOK = r"""#!{python}
import json, os, sys, time
ZERO = "0" * 40
journal = os.environ.get("PLANNER_PUSH_JOURNAL")
if journal:  # go on only once apply has journaled this push (its process group): see OnStart
    needle, deadline = '"pgid":%d,' % os.getpgid(0), time.monotonic() + {journal_wait}
    while True:
        try:
            with open(journal, encoding="utf-8") as f:
                if needle in f.read():
                    break
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            sys.exit("planner: this push was never journaled (apply died?): refusing it")
        time.sleep(0.01)
with open(os.environ["PLANNER_PUSH_EXPECT"], encoding="utf-8") as f:
    doc = json.load(f)
expect, in_place = doc["expect"], set(doc["in_place"])
seen, moved = set(), {}
for line in sys.stdin:
    parts = line.split()
    if len(parts) != 4:
        continue
    _lref, _loid, rref, roid = parts
    seen.add(rref)
    if rref not in expect:
        continue  # not ours to judge (cannot happen with our refspecs)
    want = expect[rref]
    if want is None:
        want = ZERO
    if roid != want:
        moved[rref] = None if roid == ZERO else roid
for ref in expect:
    if ref not in seen and ref not in in_place:
        moved[ref] = "up-to-date"  # the remote already holds our new value: someone else moved it
    # (in_place: our new object IS the old one, e.g. an env tag rewritten identically within the same
    # second; git leaves it out because the remote holds exactly that: as expected, not a move)
with open(os.environ["PLANNER_PUSH_REPORT"], "w", encoding="utf-8") as f:
    json.dump(moved, f)
sys.exit(1 if moved else 0)
"""


@dataclass(frozen=True)
class OnStart:
    """Journal a started push: ``record(pid)`` appends its entry to ``journal``, and the pre-push
    hook lets the push go on only once that entry is there. So a push never lands unrecorded,
    even when apply is killed between starting git and journaling it (the hook gives up)."""

    journal: Path
    record: Callable[[int], None]


@dataclass(frozen=True)
class RefUpdate:
    """Set ``ref`` on the remote to ``new`` (None: delete it) if it holds ``old`` (None: absent)."""

    ref: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class NewTag:
    """An annotated tag object to write: ``ref`` = refs/tags/<name>, pointing at ``commit``."""

    ref: str
    commit: str
    message: str


@dataclass(frozen=True)
class PushResult:
    updated: tuple[str, ...]
    seconds: float


def tagger_ident(repo: Repo, env: Mapping[str, str] | None = None) -> str:
    """``Name <email> <epoch> <tz>`` as git would put in a tag it creates now."""
    return repo.text(["var", "GIT_COMMITTER_IDENT"], env=dict(env or {})).strip()


def tag_object_text(tag: NewTag, ident: str) -> bytes:
    name = tag.ref.removeprefix("refs/tags/")
    msg = tag.message if tag.message.endswith("\n") else tag.message + "\n"
    return f"object {tag.commit}\ntype commit\ntag {name}\ntagger {ident}\n\n{msg}".encode()


def write_tag_objects(repo: Repo, tags: Sequence[NewTag], *, ident: str | None = None) -> dict[str, str]:
    """Write every tag object in ONE git process; return {ref: tag object id}."""
    if not tags:
        return {}
    ident = ident or tagger_ident(repo)
    with tempfile.TemporaryDirectory(prefix="planner-tags-") as tmp:
        paths = []
        for i, t in enumerate(tags):
            p = Path(tmp) / f"{i}.tag"
            p.write_bytes(tag_object_text(t, ident))
            paths.append(str(p))
        out = repo.run(
            ["hash-object", Opt("-t"), "tag", Opt("-w"), Opt("--stdin-paths")],
            input=("\n".join(paths) + "\n").encode(),
        )
    oids = out.stdout.decode().split()
    if len(oids) != len(tags):
        raise GitError(f"git hash-object wrote {len(oids)} objects for {len(tags)} tags")
    return {t.ref: oid for t, oid in zip(tags, oids, strict=True)}


def _staging_name(push_id: str, ref: str) -> str:
    # refs/tags/x -> refs/planner/outgoing/<id>/tags/x ; refs/planner/ledger -> .../<id>/planner/ledger
    return f"{OUTGOING}/{push_id}/{ref.removeprefix('refs/')}"


def _update_refs(repo: Repo, lines: Sequence[str]) -> None:
    if lines:
        repo.run(["update-ref", Opt("--stdin")], input=("\n".join(lines) + "\n").encode())


def _write_hook(tmp: Path) -> Path:
    hooks = tmp / "hooks"
    hooks.mkdir()
    hook = hooks / "pre-push"
    hook.write_text(
        _HOOK.replace("{python}", sys.executable).replace("{journal_wait}", repr(JOURNAL_WAIT)), encoding="utf-8"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return hooks


def atomic_push(
    repo: Repo, remote: Remote, updates: Sequence[RefUpdate], *, on_start: OnStart | None = None
) -> PushResult:
    """Push every update in ONE atomic push, each checked against its expected old value.

    ``on_start(pid)`` runs as soon as ``git push`` is started, in its own process group (its pid
    is the group id): the engine journals it, so that ``planner recover`` can wait for (or kill)
    a push orphaned by a crash before it reads the remote (planner.txn.orphans).

    Raises ConflictError naming every ref whose remote value was not the expected one; in that
    case nothing was changed on the remote. Other failures raise GitError.
    """
    import time

    start = time.monotonic()
    if not updates:
        return PushResult((), 0.0)
    refs = [u.ref for u in updates]
    if len(set(refs)) != len(refs):
        raise GitError("internal error: a ref appears twice in one push")
    push_id = uuid.uuid4().hex[:16]
    sets = [u for u in updates if u.new is not None]
    deletes = [u for u in updates if u.new is None]
    tag_sets = [u for u in sets if u.ref.startswith("refs/tags/")]
    other_sets = [u for u in sets if not u.ref.startswith("refs/tags/")]
    staged = [f"update {_staging_name(push_id, u.ref)} {u.new}" for u in sets]
    _update_refs(repo, staged)
    try:
        refspecs: list[str] = []
        if tag_sets:
            refspecs.append(f"+{OUTGOING}/{push_id}/tags/*:refs/tags/*")
        refspecs += [f"+{_staging_name(push_id, u.ref)}:{u.ref}" for u in other_sets]
        refspecs += [f":{u.ref}" for u in deletes]
        # Inside the checkout, not /tmp: a hook on a noexec mount would be skipped by git.
        # Absolute: git refuses a relative include.path given on the command line (`--repo .`).
        scratch = repo.root.resolve() / ".planner" / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="push-", dir=scratch) as tmpdir:
            tmp = Path(tmpdir)
            hooks = _write_hook(tmp)
            expect_file = tmp / "expect.json"
            report_file = tmp / "report.json"
            expect_doc = {
                "expect": {u.ref: u.old for u in updates},
                "in_place": [u.ref for u in updates if u.new == u.old],
            }
            expect_file.write_text(json.dumps(expect_doc), encoding="utf-8")
            # Refspecs go into a temporary remote in an included config file, not on the command
            # line: its length stays constant whatever the number of deletions (ARG_MAX).
            tmp_remote = f"planner-push-{push_id}"
            cfg = tmp / "push.config"
            cfg.write_text(_remote_config(tmp_remote, repo.url_of(remote, push=True), refspecs), encoding="utf-8")
            proc = _run_push(
                [
                    Opt("-c"),
                    Opt(f"core.hooksPath={hooks}"),
                    Opt("-c"),
                    Opt(f"include.path={cfg}"),
                    "push",
                    Opt("--atomic"),
                    Opt("--porcelain"),
                    Opt("--verify"),
                    tmp_remote,
                ],
                repo,
                {"PLANNER_PUSH_EXPECT": str(expect_file), "PLANNER_PUSH_REPORT": str(report_file)},
                on_start,
            )
            hook_ran = report_file.exists()
            moved: dict[str, str | None] = json.loads(report_file.read_text(encoding="utf-8")) if hook_ran else {}
        if moved:
            raise ConflictError.for_refs(moved, {u.ref: u.old for u in updates})
        if proc.returncode != 0:
            rejected = _rejected_from_porcelain(proc.stdout.decode("utf-8", "replace"))
            err = proc.stderr.decode("utf-8", "replace").strip()
            if rejected and _looks_like_lease_failure(err + "\n" + "\n".join(rejected.values())):
                # receive-pack found a ref moved after the advertisement (checked under its lock).
                # --atomic rejects every ref ("atomic push failed"), so the porcelain does not say
                # which one moved: read the remote once more and name exactly those that differ.
                raise _conflict_after_rejection(repo, remote, updates, rejected)
            raise GitError(f"git push to {remote.shown} failed (exit {proc.returncode}): {redact_url(err)}")
        if not hook_ran:
            # git skipped the hook (not executable?): the push landed WITHOUT the per-ref checks.
            # Fail, so that the engine treats it as a failure after the commit and moves it back.
            raise GitError("the expected-value check (pre-push hook) did not run; the push was not checked")
        _mirror_tags_locally(repo, updates)
        return PushResult(tuple(refs), time.monotonic() - start)
    finally:
        _update_refs(repo, [f"delete {_staging_name(push_id, u.ref)}" for u in sets])


def _mirror_tags_locally(repo: Repo, updates: Sequence[RefUpdate]) -> None:
    """After the push landed, set the checkout's tags to what the remote now holds, in one
    ``update-ref --stdin``: later commands see no stale tags, and an edgit-style
    ``push --tags --force`` from this checkout cannot push the old targets back."""
    lines = [
        f"update {u.ref} {u.new}" if u.new is not None else f"delete {u.ref}"
        for u in updates
        if u.ref.startswith("refs/tags/")
    ]
    try:
        _update_refs(repo, lines)
    except GitError:
        pass  # the remote is the truth and already holds the change; a stale local tag is only warned about


def _run_push(
    args: Sequence[str | Opt], repo: Repo, env: dict[str, str], on_start: OnStart | None
) -> subprocess.CompletedProcess[bytes]:
    if on_start is not None:
        env = {**env, "PLANNER_PUSH_JOURNAL": str(on_start.journal)}
    child = repo.start(args, env=env, new_session=True)  # its own group: see atomic_push
    with child:
        if on_start is not None:
            try:
                on_start.record(child.pid)
            except BaseException:
                os.killpg(child.pid, signal.SIGKILL)  # not journaled: it must not land unseen
                raise
        try:
            out, err = child.communicate(timeout=PUSH_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise GitError(f"git push timed out after {PUSH_TIMEOUT} s") from None
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def _conflict_after_rejection(
    repo: Repo, remote: Remote, updates: Sequence[RefUpdate], rejected: Mapping[str, str]
) -> ConflictError:
    expected = {u.ref: u.old for u in updates}
    try:
        now = remote_values(repo, Remote(repo.url_of(remote, push=True)), list(expected))
    except GitError:
        now = None
    if now is not None:
        moved = {ref: now.get(ref) for ref, old in expected.items() if now.get(ref) != old}
        if moved:
            err = ConflictError.for_refs(moved, expected)
            return ConflictError(err.message + "\n(moved during the push)", moved)
    # The remote is back at the expected values (or unreadable): name the refs receive-pack itself
    # refused, not the ones --atomic dragged along.
    own = {ref: why for ref, why in rejected.items() if "atomic" not in why} or dict(rejected)
    return ConflictError.for_refs(dict.fromkeys(own, "moved during the push"), {})


def _quote(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise GitError("a remote URL or ref contains a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _remote_config(name: str, url: str, refspecs: Sequence[str]) -> str:
    lines = [f'[remote "{name}"]', f"\turl = {_quote(url)}"]
    lines += [f"\tpush = {_quote(r)}" for r in refspecs]
    return "\n".join(lines) + "\n"


def _rejected_from_porcelain(text: str) -> dict[str, str]:
    """``!\\t<src>:<dst>\\t[rejected] (reason)`` lines -> {dst: reason}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("!"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            dst = parts[1].rpartition(":")[2]
            out[dst] = parts[2] if len(parts) > 2 else ""
    return out


def _looks_like_lease_failure(text: str) -> bool:
    needles = ("failed to lock", "cannot lock ref", "is at", "but expected", "stale info", "reference already exists")
    return any(n in text for n in needles)


def remote_values(repo: Repo, remote: Remote, refs: Sequence[str]) -> dict[str, str]:
    """ONE ls-remote: {ref: object} for those of ``refs`` that exist on the remote."""
    want = set(refs)
    return {ref: obj for ref, (obj, _) in repo.ls_remote(remote, []).items() if ref in want}
