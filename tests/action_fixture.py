"""A release repository for .github/workflows/action.yml, this repository's own test of its
GitHub Action from its checkout (``uses: ./``). Standard library and git only: it runs on a bare
GitHub runner before the action has installed anything.

    python3 -m tests.action_fixture make DIR     # DIR/remote.git (origin) and DIR/work (its clone):
                                                 # one prompt, v1.0.0 in staging, v1.1.0 tagged, and
                                                 # a merged pull request adding plans/promote.plan
    python3 -m tests.action_fixture check DIR    # after the action: APPLIED (its output) names that
                                                 # plan, staging is at v1.1.0 on the remote, the KV key
                                                 # holds v1.1.0's content, the ledger records it once
                                                 # and no journal is left open
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import EdgitRepo, git

EXT = "components/prompts/extraction"
PLAN = "plans/promote.plan"
PLANNER_TOML = 'environments = ["staging", "production"]\n[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n'


def make(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    repo = EdgitRepo.create(root)
    v1 = repo.register("extraction", "prompt", "prompts/extraction.md", "Extract v1\n")
    repo.write("prompts/extraction.md", "Extract v1.1\n")
    repo.write("planner.toml", PLANNER_TOML)
    repo.write(".gitignore", ".planner/\n")
    v11 = repo.commit("extraction 1.1")
    repo.tag_version(EXT, "v1.0.0", v1)
    repo.tag_version(EXT, "v1.1.0", v11)
    repo.set_env(EXT, "staging", "v1.0.0")
    git(repo.work, "checkout", "-q", "-b", "promote")
    repo.write(PLAN, 'plan "promote" {\n  promote prompts/extraction v1.1.0 to staging\n}\n')
    repo.commit("promote extraction 1.1 to staging")
    git(repo.work, "checkout", "-q", "main")
    git(repo.work, "merge", "-q", "--no-ff", "-m", "Merge pull request #1 from promote", "promote")
    repo.push()


def check(root: Path, applied: str) -> list[str]:
    """What is wrong after the action ran (empty: all as expected)."""
    remote, work = root / "remote.git", root / "work"
    problems = []
    if json.loads(applied or "null") != [PLAN]:
        problems.append(f"output applied is {applied!r}, not [{PLAN!r}]")
    staging = git(remote, "rev-parse", f"refs/tags/{EXT}/staging^{{commit}}")
    if staging != git(remote, "rev-parse", f"refs/tags/{EXT}/v1.1.0^{{commit}}"):
        problems.append("staging is not at v1.1.0 on the remote")
    try:  # the planner the action installed (its GITHUB_PATH line reaches this step)
        key = subprocess.run(
            ["planner", "kv", "get", "prompts/extraction@staging", "--repo", str(work)],
            capture_output=True,
            check=False,
        )
        if key.stdout != b"Extract v1.1\n":
            problems.append(f"KV prompts/extraction@staging holds {key.stdout!r} ({key.stderr.decode().strip()})")
    except FileNotFoundError:
        problems.append("planner is not on PATH: the action did not install it")
    ledger = git(remote, "for-each-ref", "--format=%(objectname)", "refs/planner/ledger")
    records = git(remote, "rev-list", "--count", ledger) if ledger else "0"
    source = json.loads(git(remote, "cat-file", "blob", f"{ledger}:apply.json"))["plan_source"] if ledger else None
    if records != "1" or source != PLAN:
        problems.append(f"the ledger holds {records} record(s), not one of {PLAN}")
    if git(remote, "for-each-ref", "refs/planner/journal/"):
        problems.append("a journal is left open on the remote")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("make", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "make":
        make(root)
        return 0
    problems = check(root, os.environ.get("APPLIED", ""))
    for p in problems:
        print(f"::error::{p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
