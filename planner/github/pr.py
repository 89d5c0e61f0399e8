"""``planner github pr``: check, validate and plan a pull request's plan files.

- every added or changed plan file (``base...head``) is compiled (diagnostics become annotations on
  the plan lines) and planned against the remote and KV as they are now;
- the YAML references are validated against the state the pull request's plans WOULD produce
  (a pull request creating v1.2.0 and referencing ``@v1.2.0`` passes); KV drift is reported as a
  warning, never a failure: the apply after the merge syncs it;
- without KV credentials (a fork's pull request gets no secrets) a plan is checked but not planned,
  and the job says so;
- one sticky comment (planner.github.sticky) and the job summary carry the rendered plans. The
  comment is informational only: nothing downstream reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import Diagnostic, DiagnosticError, PlannerError, Span
from planner.github import gitlog
from planner.github.sticky import Section
from planner.gitio import Remote, Repo


@dataclass
class PlanResult:
    path: str
    status: str  # planned | blocked | error | not-planned
    plan_id: str | None = None
    markdown: str = ""
    message: str = ""
    changes: int = 0
    tags: list[tuple[str, str]] = field(default_factory=list)  # (ref, new commit) of the tag moves

    def row(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "plan_id": self.plan_id, "message": self.message}


@dataclass
class PRReport:
    plans: list[PlanResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # check + validate, as annotated
    kv_note: str | None = None

    @property
    def failed(self) -> bool:
        return any(p.status in ("blocked", "error") for p in self.plans) or any(
            d.severity == "error" for d in self.diagnostics
        )


def _kv_problem(repo: Path, envs: Sequence[str]) -> str | None:
    from planner.config import load_config
    from planner.kv.bindings import close_stores, open_stores

    if not envs:
        return None
    try:
        close_stores(open_stores(load_config(repo), envs))
    except PlannerError as exc:
        return exc.message
    return None


def plan_file(repo: Path, remote: str, path: str) -> tuple[PlanResult, list[Diagnostic]]:
    """Compile (check) then plan one file of the work tree (the pull request's merge commit)."""
    from planner.config import load_config
    from planner.lang.compile import Inputs, compile_text, read_plan
    from planner.plan.run import LedgerHistory, plan_source
    from planner.registry import load_registry
    from planner.state import snapshot
    from planner.steps import MoveEnv

    try:
        text = read_plan(repo / path)
        cfg = dataclasses.replace(load_config(repo), remote=remote)
        git, rem = Repo(repo), Remote(remote)
        ordered = compile_text(
            text, path, Inputs(load_registry(repo), snapshot(git, rem), cfg, LedgerHistory(git, rem))
        )
    except DiagnosticError as exc:
        diags = [d if d.span else dataclasses.replace(d, span=Span(path, 1, 1)) for d in exc.diagnostics]
        return PlanResult(path, "error", message=exc.message), diags
    warnings = list(ordered.diagnostics)
    envs = sorted({s.env for s in ordered.steps if isinstance(s, MoveEnv) and s.prefix == "components"})
    problem = _kv_problem(repo, envs)
    if problem is not None:
        note = (
            f"checked, not planned: the KV store cannot be read here ({problem}). Pull requests from "
            "forks get no secrets; the plan is computed again, with KV, when it is applied after the merge"
        )
        return PlanResult(path, "not-planned", message=note), warnings
    run = plan_source(text, path, repo=repo, remote=remote, source_name=path)
    md = run.render("markdown")
    tags = [(t.ref, t.new_commit) for t in run.plan.tags if t.action != "noop"]
    changes = len(tags) + sum(not k.unchanged for k in run.plan.kv)
    if run.violations:
        msg = "; ".join(v.message for v in run.violations)
        return PlanResult(path, "blocked", run.plan.plan_id, md, msg, changes, tags), warnings
    return PlanResult(path, "planned", run.plan.plan_id, md, "", changes, tags), warnings


def validate_after(repo: Path, remote: str, moves: Sequence[tuple[str, str]]) -> tuple[list[Diagnostic], str | None]:
    """Validate the YAML against the remote with the pull request's tag moves applied. Reference
    errors fail; KV differences (found by a second pass with the KV stores) are warnings."""
    from planner.config import load_config
    from planner.registry import load_registry
    from planner.state import build_state, read_remote_refs
    from planner.validate import config_targets, validate

    git, rem = Repo(repo), Remote(remote)
    refs = dict(read_remote_refs(git, rem))
    for ref, commit in moves:
        refs[ref] = (commit, commit)  # the tag the plan would write points at this commit
    state = build_state(rem, refs)
    registry = load_registry(repo)
    plain = validate(repo, [], registry=registry, state=state, env=None, open_targets=lambda _envs: ({}, []))
    with_kv = validate(
        repo, [], registry=registry, state=state, env=None, open_targets=config_targets(load_config(repo))
    )
    seen = {(d.span, d.message) for d in plain.diagnostics}
    drift = [dataclasses.replace(d, severity="warning") for d in with_kv.diagnostics if (d.span, d.message) not in seen]
    note = f"{len(drift)} KV difference(s) reported as warnings (the apply syncs KV)" if drift else None
    return [*plain.diagnostics, *drift], note


def run_pr(repo: Path, remote: str, base: str, head: str) -> PRReport:
    report = PRReport()
    moves: list[tuple[str, str]] = []
    for path in gitlog.changed_plans(Repo(repo), base, head):
        result, diags = plan_file(repo, remote, path)
        report.plans.append(result)
        report.diagnostics.extend(diags)
        moves.extend(result.tags)
    diags, report.kv_note = validate_after(repo, remote, moves)
    report.diagnostics.extend(diags)
    return report


def sections(report: PRReport, run_url: str | None) -> list[Section]:
    where = f"[the job summary]({run_url})" if run_url else "the job summary"
    out = []
    for p in report.plans:
        title = f"### `{p.path}`: {p.status}"
        pid = f"plan `{p.plan_id[:12]}`, " if p.plan_id else ""
        body = p.markdown if p.markdown else p.message
        extra = f"\n\n{p.message}" if p.markdown and p.message else ""
        short = f"{title}\n\n{pid}{p.changes} change(s): too long for a comment, see {where}.{extra}"
        out.append(Section(p.path, f"{title}\n\n{body}{extra}", short))
    return out


def heading(report: PRReport) -> str:
    if not report.plans:
        return "## Release plan\n\nNo plan file is added or changed by this pull request."
    n_err = sum(d.severity == "error" for d in report.diagnostics)
    state = "problems found" if report.failed else "ready for review"
    head = (
        f"## Release plan: {state}\n\n{len(report.plans)} plan file(s); {n_err} error(s) in checks and YAML references."
    )
    if report.kv_note:
        head += f"\n{report.kv_note}."
    return head + "\n\nAfter the merge, the apply workflow compiles each merged plan file again and applies it."


def summary(report: PRReport) -> str:
    parts = [heading(report)]
    for s in sections(report, None):
        parts.append(s.full)
    bad = [d for d in report.diagnostics if d.severity in ("error", "warning")]
    if bad:
        parts.append(
            "### Diagnostics\n\n"
            + "\n".join(
                f"- {d.severity}: `{d.span}` {d.message}" if d.span else f"- {d.severity}: {d.message}" for d in bad
            )
        )
    return "\n\n".join(parts)
