"""The ``planner plan`` pipeline as a library call: read once, compile, diff, check policy, render.

Reads only: one ls-remote (snapshot), the plan file, the registry, batched git object reads and
one ``get_many`` per KV namespace. Writes nothing to the remote or the KV stores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from planner import policy
from planner.artifact import load
from planner.config import load_config
from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.model import ComponentRef, Version
from planner.plan.changes import ComputedPlan
from planner.plan.diff import compute_plan, content_changes
from planner.policy import Violation
from planner.registry import Registry, load_registry
from planner.render.review import RenderContext
from planner.state import snapshot
from planner.steps import MoveEnv


@dataclass(frozen=True)
class PlanRun:
    plan: ComputedPlan
    violations: tuple[Violation, ...]
    repo: Path
    registry: Registry

    def render(self, fmt: str, *, color_stream: TextIO | None = None) -> str:
        # Reviewers of a blocked plan must see why: the violations are rendered first.
        ctx = dataclasses.replace(render_context(self.repo), violations=self.violations)
        return rendered(self.plan, fmt, repo=self.repo, registry=self.registry, color_stream=color_stream, context=ctx)


def render_context(repo: Path) -> RenderContext:
    """Which environments the renderers list first: ``[policy] protected`` and the last of the
    promotion order. A missing or broken planner.toml only loses that ordering (``show``)."""
    try:
        settings = policy.load_settings(load_config(repo))
    except PlannerError:
        return RenderContext()
    return RenderContext(protected=settings.protected, order=settings.order or ())


def ledger_history(repo: Repo, remote: Remote, head: str | None) -> Callable[[], Sequence[Mapping[str, Any]]]:
    """A lazy reader of the remote's ledger records, newest first, for ``planner.policy.check``
    (kept here so the policies never import ``planner.txn``, which imports them). ``head``: the
    ledger commit from the snapshot already taken (None: the remote has no ledger)."""

    def read() -> Sequence[Mapping[str, Any]]:
        from planner.txn.ledger import history_at

        return history_at(repo, remote, head)

    return read


class LedgerHistory:
    """The language's EnvHistory over the release ledger, read only if the plan has a ``rollback``
    without a version (most plans never need it, and reading it fetches the ledger ref)."""

    def __init__(self, repo: Repo, remote: Remote) -> None:
        self.repo, self.remote = repo, remote
        self._hist: Any = None

    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        from planner.txn.ledger import LedgerEnvHistory, history

        if self._hist is None:
            self._hist = LedgerEnvHistory(history(self.repo, self.remote))
        result: tuple[str, Version | None] | None = self._hist.previous_target(component, env)
        return result


def plan_source(
    text: str,
    filename: str,
    *,
    repo: Path,
    remote: str | None = None,
    source_name: str | None = None,
    invocation: policy.Invocation | None = None,
    stage: str = "plan",
) -> PlanRun:
    """THE pipeline of `planner plan`, `apply PLAN`, `promote` and `rollback`: one snapshot, compile
    (the ledger resolves `rollback C in ENV`), diff, policies. ``filename`` names diagnostics;
    ``source_name`` is what the artifact records (repository-relative, so ids do not depend on
    where the checkout lives)."""
    from planner.kv.bindings import close_stores, open_stores
    from planner.lang.compile import Inputs, compile_text

    cfg = load_config(repo)
    cfg = dataclasses.replace(cfg, remote=remote or cfg.remote)  # the remote this run reads, for every stage
    git, rem = Repo(repo), Remote(cfg.remote)  # the command's repository and remote, for every stage
    registry = load_registry(repo)
    state = snapshot(git, rem)
    ordered = compile_text(text, filename, Inputs(registry, state, cfg, LedgerHistory(git, rem)))
    if source_name is not None:
        ordered = dataclasses.replace(ordered, source_file=source_name)
    envs = sorted({s.env for s in ordered.steps if isinstance(s, MoveEnv) and s.prefix == "components"})
    targets = open_stores(cfg, envs)
    try:
        computed = compute_plan(ordered, repo=git, registry=registry, state=state, targets=targets)
    finally:
        close_stores(targets)  # Cloudflare's HTTP connections: the diff is their last use
    violations = policy.check(
        computed,
        state=state,
        config=cfg,
        history=ledger_history(git, rem, state.ledger),
        invocation=invocation,
        stage=stage,
    )
    return PlanRun(computed, tuple(violations), repo, registry)


def run_plan(plan_file: Path, *, repo: Path, remote: str | None = None) -> PlanRun:
    from planner.lang.compile import read_plan

    return plan_source(
        read_plan(plan_file), str(plan_file), repo=repo, remote=remote, source_name=source_name(plan_file, repo)
    )


def source_name(plan_file: Path, repo: Path) -> str:
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
    context: RenderContext | None = None,
) -> str:
    if fmt == "json":
        from planner.render.json import render_json

        return render_json(plan)
    ctx = context if context is not None else render_context(repo)
    if fmt == "markdown":
        from planner.render.markdown import render_markdown

        try:
            reg = registry if registry is not None else load_registry(repo)
            changes = content_changes(plan, Repo(repo), reg)
        except PlannerError:
            changes = []  # not in the repository (e.g. `show` elsewhere): tags and keys only
        return render_markdown(plan, changes, context=ctx)
    from planner.render.text import render_text, use_color

    return render_text(plan, color=color_stream is not None and use_color(color_stream), context=ctx)
