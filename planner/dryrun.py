"""The ``planner plan`` pipeline as a library call: read once, compile, diff, check policy, render.

Reads only: one ls-remote (snapshot), the plan file, the registry, batched git object reads and
one ``get_many`` per KV namespace. Writes nothing to the remote or the KV stores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from planner import policy
from planner.artifact import load
from planner.changes import ComputedPlan
from planner.config import load_config
from planner.diff import compute_plan, content_changes
from planner.errors import PlannerError
from planner.policy import Violation, ledger_history
from planner.registry import Registry, load_registry
from planner.state import snapshot
from planner.steps import MoveEnv


@dataclass(frozen=True)
class PlanRun:
    plan: ComputedPlan
    violations: tuple[Violation, ...]
    repo: Path
    registry: Registry

    def render(self, fmt: str, *, color_stream: TextIO | None = None) -> str:
        out = rendered(self.plan, fmt, repo=self.repo, registry=self.registry, color_stream=color_stream)
        if fmt == "markdown" and self.violations:
            # Reviewers of a blocked plan must see why (the note fits in the renderer's reserve).
            from planner.render.markdown import md_text  # messages quote plan text (reasons)

            lines = [f"- **{md_text(v.policy)}**: {md_text(v.message)}\n" for v in self.violations[:5]]
            if len(self.violations) > 5:
                lines.append(f"- ... and {len(self.violations) - 5} more\n")
            out += "\n#### :no_entry: Blocked by policy\n\n" + "".join(lines)
        return out


def run_plan(plan_file: Path, *, repo: Path, remote: str | None = None) -> PlanRun:
    from planner.kv.bindings import open_stores
    from planner.lang.compile import compile_file

    cfg = load_config(repo)
    registry = load_registry(repo)
    state = snapshot(remote or cfg.remote, repo)
    ordered = compile_file(plan_file, registry=registry, state=state, config=cfg)
    ordered = dataclasses.replace(ordered, source_file=_display_name(plan_file, repo))
    envs = sorted({s.env for s in ordered.steps if isinstance(s, MoveEnv) and s.prefix == "components"})
    targets = open_stores(cfg, envs)
    computed = compute_plan(ordered, repo=repo, registry=registry, state=state, targets=targets)
    violations = tuple(
        policy.check(
            computed, state=state, config=cfg, history=ledger_history(repo, remote or cfg.remote, state.ledger)
        )
    )
    return PlanRun(computed, violations, repo, registry)


def _display_name(plan_file: Path, repo: Path) -> str:
    """The plan's path relative to the repository when inside it, so artifacts do not depend on
    where the checkout lives (CI runners, temp dirs)."""
    try:
        return plan_file.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return str(plan_file)


def load_plan_file(path: Path) -> ComputedPlan:
    from planner.fileio import read_text_file

    return load(read_text_file(path), str(path))  # artifact.load turns every malformation into an error


def rendered(
    plan: ComputedPlan,
    fmt: str,
    *,
    repo: Path,
    registry: Registry | None = None,
    color_stream: TextIO | None = None,
) -> str:
    if fmt == "json":
        from planner.render.json import render_json

        return render_json(plan)
    if fmt == "markdown":
        from planner.render.markdown import render_markdown

        try:
            reg = registry if registry is not None else load_registry(repo)
            changes = content_changes(plan, repo, reg)
        except PlannerError:
            changes = []  # not in the repository (e.g. `show` elsewhere): tags and keys only
        return render_markdown(plan, changes)
    from planner.render.text import render_text, use_color

    return render_text(plan, color=color_stream is not None and use_color(color_stream))
