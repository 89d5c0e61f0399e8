"""The demo's second act: write an example plan into the demo repository and dry-run it."""

from __future__ import annotations

import sys
from pathlib import Path

DEMO_PLAN = """\
# An example release for the demo repository (see `planner demo`).
plan "demo-release" {
  description "Ship the tuned analyzer and the new extraction prompt"

  create  agents/analyzer v1.1.0 at main             # new immutable version tag
  promote agents/analyzer v1.1.0 to staging
  promote prompts/extraction from staging to production
  promote schemas/invoice v1.0.0 to staging          # already there: a no-op
  promote scripts/router v1.0.0-rc.1 to production   # logic: needs a Worker rebuild
  verify  staging get "https://demo-staging.example.invalid/health" expect 200
}
"""


def write_demo_plan(work: Path) -> Path:
    file = work / "plans" / "demo.plan"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(DEMO_PLAN, encoding="utf-8")
    return file


def plan_demo(work: Path, fmt: str = "text") -> int:
    """Write plans/demo.plan into the demo work tree and run ``planner plan`` on it; the exit code."""
    from planner.cli import run

    file = write_demo_plan(work)
    print(f"\n$ planner plan {file} --repo {work} --detailed-exitcode", file=sys.stderr)
    sys.stdout.flush()
    return run(["plan", str(file), "--repo", str(work), "--format", fmt, "--detailed-exitcode"])
