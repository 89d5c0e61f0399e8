"""The release ledger: a commit chain on ``refs/planner/ledger``, one commit per applied phase.

Each commit's tree holds ``apply.json`` (the record); its parent is the previous ledger commit.
The commit is built locally (hash-object + mktree + commit-tree) and advanced on the remote in
the SAME atomic push as the tags, with its own expected old value. Reading fetches the ref once
and reads every record in one ``git cat-file --batch``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from planner.gitio import GitError, Opt, Remote, Repo
from planner.model import LEDGER_REF, ComponentRef, TagName, Version

RECORD_FILE = "apply.json"
LOCAL_LEDGER = "refs/planner/remote-ledger"  # local copy of the remote's ledger, for reading


def actor(repo: Repo, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTOR"):
        return env["GITHUB_ACTOR"]
    # One git call for both keys; the last value of a key wins, as with `git config KEY`.
    proc = repo.run(["config", Opt("--get-regexp"), r"^user\.(name|email)$"], check=False)
    found: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        found[key] = value.strip()
    name, email = found.get("user.name", ""), found.get("user.email", "")
    return f"{name} <{email}>" if email else (name or "unknown")


def ci_run_url(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    server, repo, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if server and repo and run:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return None


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_commit(repo: Repo, record: Mapping[str, Any], parent: str | None) -> str:
    """Write the record as a ledger commit on top of ``parent``; return the commit id (not pushed)."""
    msg = f"apply {record.get('apply_id', '?')}: {record.get('plan_name', '')}\n"
    return record_commit(repo, record, RECORD_FILE, msg, parent)


def record_commit(repo: Repo, record: Mapping[str, Any], filename: str, msg: str, parent: str | None) -> str:
    """A commit whose tree is ``filename`` holding ``record`` as JSON, on top of ``parent`` (not
    pushed): the form of the ledger and of the GitHub reconcile's cursor."""
    data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    blob = repo.text(["hash-object", Opt("-w"), Opt("--stdin")], input=data).strip()
    tree = repo.text(["mktree"], input=f"100644 blob {blob}\t{filename}\n".encode()).strip()
    args: list[str | Opt] = ["commit-tree", tree]
    if parent:
        args += [Opt("-p"), parent]
    env = {
        "GIT_AUTHOR_NAME": "release-planner",
        "GIT_AUTHOR_EMAIL": "planner@localhost",
        "GIT_COMMITTER_NAME": "release-planner",
        "GIT_COMMITTER_EMAIL": "planner@localhost",
    }
    return repo.text(args, input=msg.encode(), env=env).strip()


def fetch_ledger(repo: Repo, remote: Remote, expected: str | None) -> None:
    """Make the remote's ledger commit (and its ancestors) available locally, as LOCAL_LEDGER."""
    if expected is None:
        return
    have = repo.run(["cat-file", Opt("-e"), f"{expected}^{{commit}}"], check=False)
    if have.returncode != 0:
        repo.run(
            ["fetch", Opt("--no-tags"), Opt("--quiet"), remote.spec, f"+{LEDGER_REF}:{LOCAL_LEDGER}"],
        )
    else:
        repo.run(["update-ref", LOCAL_LEDGER, expected])


def read_records(repo: Repo, head: str | None, *, stop: str | None = None) -> list[dict[str, Any]]:
    """Every record from ``head`` back to the first apply (or to ``stop``, excluded), newest
    first (two git processes)."""
    if head is None:
        return []
    commits = repo.text(["rev-list", Opt("--first-parent"), head, *([f"^{stop}"] if stop else [])]).split()
    if not commits:
        return []
    proc = repo.run(
        ["cat-file", Opt("--batch")],
        input="".join(f"{c}:{RECORD_FILE}\n" for c in commits).encode(),
    )
    out: list[dict[str, Any]] = []
    data = proc.stdout
    pos = 0
    for commit in commits:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].decode()
        if header.endswith("missing"):
            pos = nl + 1
            continue
        size = int(header.split()[2])
        body = data[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
        try:
            rec = json.loads(body)
        except json.JSONDecodeError as exc:
            raise GitError(f"ledger commit {commit[:12]} holds an unreadable record: {exc}") from None
        rec["ledger_commit"] = commit
        out.append(rec)
    return out


def history(
    repo: Repo, remote: Remote, *, component: str | None = None, env: str | None = None
) -> list[dict[str, Any]]:
    """Ledger records newest first, optionally only those touching ``component`` and/or ``env``
    (one ``ls-remote`` of the ledger ref finds its head)."""
    head = repo.ls_remote(remote, [LEDGER_REF]).get(LEDGER_REF, (None, None))[0]
    return history_at(repo, remote, head, component=component, env=env)


def history_at(
    repo: Repo, remote: Remote, head: str | None, *, component: str | None = None, env: str | None = None
) -> list[dict[str, Any]]:
    """``history`` from a ledger head already read (a snapshot's ``ledger``; None: no ledger)."""
    fetch_ledger(repo, remote, head)
    return [r for r in read_records(repo, head) if _touches(r, component, env)]


def _touches(record: Mapping[str, Any], component: str | None, env: str | None) -> bool:
    if component is None and env is None:
        return True
    for ch in record.get("refs", []):
        tag = TagName.try_parse(ch["ref"])
        if tag is None:
            continue
        if component is not None and str(tag.component) != component:
            continue
        if env is not None and str(tag.slot) != env:
            continue
        return True
    return False


@dataclass(frozen=True)
class LedgerEnvHistory:
    """The language's EnvHistory protocol (``rollback C in ENV`` without a version), from the ledger."""

    records: Sequence[Mapping[str, Any]]  # newest first

    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        """Where ``component``'s ``env`` pointed before its last recorded move (None: never moved)."""
        for rec in self.records:
            for ch in rec.get("refs", []):
                tag = TagName.try_parse(ch["ref"])
                if tag is None or tag.component != component or str(tag.slot) != env:
                    continue
                commit = ch.get("before_commit")
                if commit is None:
                    return None  # the env did not exist before its last move
                ver = ch.get("before_version")
                return commit, Version.parse(ver) if ver else None
        return None
