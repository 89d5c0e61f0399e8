"""`planner demo`: the walkthrough plans AND applies the demo release against its bare remote and
the embedded SQLite store, then shows status, history and KV."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from planner.cli import run
from planner.kv.sqlite import SqliteKV
from planner.model import LEDGER_REF
from tests.gitrepo import git

PLANNER = str(Path(sys.executable).with_name("planner"))


def test_demo_applies_the_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "demo"
    start = time.monotonic()
    assert run(["demo", "--keep", str(root)]) == 0
    assert time.monotonic() - start < 30  # a few seconds normally; generous for a loaded CI box
    cap = capsys.readouterr()
    remote, work = root / "remote.git", root / "work"

    # the transcript: each command shown, in order, with its output
    shown = [ln for ln in cap.err.splitlines() if ln.startswith("$ planner ")]
    assert [ln.removeprefix("$ planner ").split()[0] for ln in shown] == [
        *("status", "plan", "apply", "status", "history", "kv", "kv", "sync", "validate", "kv"),
    ]
    assert "--require-id" in shown[2]
    assert shown[6] == shown[-1] == "$ planner kv diff"
    assert "6 key(s) differ, 6 in sync" in cap.err and "wrote 6 key(s)" in cap.err  # the drift, repaired
    assert cap.err.rstrip().endswith("0 key(s) differ, 12 in sync")
    [url] = re.findall(r"planner: verify staging: (http://127\.0\.0\.1:\d+/health) -> 200", cap.err)
    with pytest.raises(httpx.ConnectError):  # the demo's health server was stopped at the end
        httpx.get(url, timeout=2)
    assert re.search(r"prompts/extraction +production: v1\.0\.0 -> v1\.1\.0", cap.out)  # the dry run
    assert "Extract the invoice fields. Return JSON." in cap.out  # kv get after the apply

    # the remote tags moved
    def peeled(ref: str) -> str:
        return git(remote, "rev-parse", f"{ref}^{{commit}}")

    ext = "refs/tags/components/prompts/extraction"
    assert peeled(f"{ext}/production") == peeled(f"{ext}/v1.1.0")
    assert peeled("refs/tags/logic/scripts/router/production") == peeled("refs/tags/logic/scripts/router/v1.0.0-rc.1")
    assert peeled("refs/tags/components/agents/analyzer/v1.1.0") == git(work, "rev-parse", "main")

    # the ledger holds exactly one record, for the reviewed plan
    plan_id = json.loads((work / "plan.json").read_text(encoding="utf-8"))["plan_id"]
    assert git(remote, "rev-list", "--count", LEDGER_REF) == "1"
    assert run(["history", "--format", "json", "--repo", str(work)]) == 0
    [record] = json.loads(capsys.readouterr().out)["applies"]
    assert record["plan_id"] == plan_id and record["plan_name"] == "demo-release"
    assert record["actor"] == "Release Planner demo <demo@example.invalid>"
    assert {r["ref"].removeprefix("refs/tags/") for r in record["refs"]} == {
        "components/agents/analyzer/v1.1.0",
        "components/prompts/extraction/production",
        "logic/scripts/router/production",
    }

    # the embedded store holds the keys the runtime reads
    db = work / ".planner/kv.sqlite"
    prod = SqliteKV(db, "production").get_many(["prompts/extraction@production", "prompts/extraction@v1.1.0"])
    assert {k: e.value for k, e in prod.items()} == {
        "prompts/extraction@production": b"Extract the invoice fields. Return JSON.\n",
        "prompts/extraction@v1.1.0": b"Extract the invoice fields. Return JSON.\n",
    }
    staging = SqliteKV(db, "staging").get_many(["agents/analyzer@staging", "schemas/invoice@staging"])
    assert staging["agents/analyzer@staging"].value == (work / "agents/analyzer/analyzer.yaml").read_bytes()
    assert staging["schemas/invoice@staging"].value == b'{"type": "object"}\n'
    assert not (work / ".planner/journal/current.jsonl").exists()  # the apply closed its journal


def test_demo_keeps_the_planner_files_out_of_edgits_scan(tmp_path: Path) -> None:
    """edgit's scan: `git ls-files` plus `git ls-files --others --exclude-standard`. After a whole
    walkthrough (journal, lock, KV store and plan.json written), neither lists a planner file."""
    root = tmp_path / "demo"
    assert run(["demo", "--keep", str(root)]) == 0
    work = root / "work"
    assert (work / ".planner/kv.sqlite").exists() and (work / "plan.json").exists()
    assert ".planner/\n" in (work / ".gitignore").read_text()
    untracked = git(work, "ls-files", "--others", "--exclude-standard").splitlines()
    assert untracked == ["plans/demo.plan"]  # a plan is meant to be committed; no edgit pattern matches it
    tracked = git(work, "ls-files").splitlines()
    assert not [f for f in tracked if f.startswith(".planner/") or f in ("planner.toml", "plan.json")]


def test_kept_demo_starts_clean(tmp_path: Path) -> None:
    """Right after `planner demo --keep DIR`, the operator's first commands in DIR find nothing wrong."""
    root = tmp_path / "demo"
    assert run(["demo", "--keep", str(root)]) == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}

    def planner(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PLANNER, *argv], cwd=root / "work", capture_output=True, text=True, env=env, timeout=60)

    for argv in (["validate"], ["kv", "diff"], ["kv", "diff", "--format", "json"]):
        proc = planner(*argv)
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    assert "0 error(s), 0 warning(s)" in planner("validate").stderr
    # no planner.toml: kv ls lists every environment the remote has tags for (it needed --env before)
    ls = planner("kv", "ls", "prompts/")
    assert ls.returncode == 0, ls.stderr
    assert "# production (sqlite:" in ls.stdout and "# staging (sqlite:" in ls.stdout
    assert "prompts/extraction@staging" in ls.stdout
