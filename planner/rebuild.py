"""After an apply: which environments need a Worker rebuild, and at which commit.

``logic/`` components are not synced to KV; they take effect only when the Worker is rebuilt and
redeployed from the commit their environment tag now points at. ``planner apply --format json``
prints this report and, when ``$GITHUB_OUTPUT`` is set, it is written there for later steps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Protocol

from planner.gitio import Opt, Repo
from planner.model import TagName
from planner.plan.changes import ComputedPlan


class _Result(Protocol):
    @property
    def apply_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def tags_changed(self) -> int: ...

    @property
    def keys_written(self) -> int: ...


def _tip(repo: Repo, commits: list[str]) -> str | None:
    """The one commit that contains all the others (one git call), or None if they diverge."""
    if len(commits) == 1:
        return commits[0]
    proc = repo.run(["merge-base", Opt("--independent"), *commits], check=False)
    tips = proc.stdout.decode().split() if proc.returncode == 0 else []
    return tips[0] if len(tips) == 1 else None


def environments(plan: ComputedPlan, repo: Repo) -> dict[str, dict[str, Any]]:
    """Per environment the plan changes: did logic components move, which, and the commit to deploy.

    Reported for every environment the plan moves (also when a re-run found it already applied,
    so a retried workflow still deploys).
    """
    out: dict[str, dict[str, Any]] = {}
    logic: dict[str, dict[str, str]] = {}
    for t in plan.tags:
        tag = TagName.try_parse(t.ref)
        if tag is None or tag.is_version or t.action == "noop":
            continue
        env = str(tag.slot)
        out.setdefault(env, {"logic_moved": False, "components": [], "commit": None})
        if tag.prefix == "logic":
            logic.setdefault(env, {})[str(tag.component)] = t.new_commit
    for k in plan.kv:
        if not k.unchanged and k.phase == "project":
            out.setdefault(k.namespace, {"logic_moved": False, "components": [], "commit": None})
    for env, comps in logic.items():
        commits = sorted(set(comps.values()))
        out[env] = {
            "logic_moved": True,
            "components": [{"component": c, "commit": comps[c]} for c in sorted(comps)],
            "commit": _tip(repo, commits),
        }
    return dict(sorted(out.items()))


def report(plan: ComputedPlan, result: _Result, *, repo: Repo) -> dict[str, Any]:
    envs = environments(plan, repo)
    return {
        "status": result.status,
        "apply_id": result.apply_id,
        "plan_id": plan.plan_id,
        "plan_name": plan.name,
        "tags_changed": result.tags_changed,
        "keys_written": result.keys_written,
        "environments": envs,
        "rebuild": sorted(e for e, v in envs.items() if v["logic_moved"]),
    }


def github_output_lines(rep: Mapping[str, Any]) -> list[str]:
    """``name=value`` lines (values are single-line JSON or plain ids: no multi-line delimiters needed)."""
    deploy = {e: v["commit"] for e, v in rep["environments"].items() if v["logic_moved"]}
    return [
        f"apply_id={rep['apply_id']}",
        f"plan_id={rep['plan_id']}",
        f"status={rep['status']}",
        f"rebuild={json.dumps(rep['rebuild'])}",
        f"rebuild_commits={json.dumps(deploy, sort_keys=True)}",
        f"needs_rebuild={'true' if rep['rebuild'] else 'false'}",
    ]


def write_github_output(rep: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(github_output_lines(rep)) + "\n")
    return True
