"""``create C VERSION at REF``: new version tags. Every REF of the plan is resolved in ONE batch
(``git_ref_resolver``, or ``Inputs.resolve_refs``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from planner.errors import PlannerError
from planner.gitio import Remote, Repo
from planner.lang import ast
from planner.lang.passes.names import note_rebuild, suggest, version
from planner.lang.scope import RefResolver, Scope
from planner.model import ComponentRef, Version
from planner.steps import CreateVersion


def git_ref_resolver(repo: Repo, remote: Remote | None = None) -> RefResolver:
    """Resolve many refs: ONE ``git cat-file --batch-check`` (``REF^{commit}`` per line); names it
    cannot resolve are looked up among the remote's branches (ONE ``ls-remote``) and their
    commits fetched when missing (ONE ``fetch``). That is how ``at main`` works in a CI checkout:
    shallow, detached, with no local ``main`` (``planner.gitrefs``)."""
    from planner.gitrefs import local_commits, remote_branch_commits

    def resolve(refs: Sequence[str]) -> dict[str, str | None]:
        for r in refs:  # callers validate; a newline would smuggle a second query in
            if not r or r.startswith("-") or any(c.isspace() or ord(c) < 32 for c in r):
                raise PlannerError(f"refusing to resolve git ref {r!r}")
        out = local_commits(repo, refs)
        missing = [r for r in refs if out.get(r) is None]
        if missing and remote is not None:
            out.update(remote_branch_commits(repo, remote, missing))
        return out

    return resolve


def _branches(ctx: Scope) -> list[str]:
    """The checkout's and the remote's branches, for a did-you-mean (only on that error path)."""
    from planner.gitrefs import branch_names

    return branch_names(Repo(ctx.config.root), Remote(ctx.config.remote))


def _check_ref(ctx: Scope, w: ast.Word) -> bool:
    r = w.text
    if r.startswith("-"):
        ctx.sink.error(f"invalid git ref '{r}': it starts with '-' and could be read as an option", w.span)
        return False
    if not r or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in r):
        ctx.sink.error(f"invalid git ref {r!r}: it is empty or contains whitespace or control characters", w.span)
        return False
    return True


def resolve_creates(ctx: Scope) -> None:
    """Pass: create statements -> CreateVersion steps (an existing tag at the same commit: a warning)."""
    sink, state, stmts = ctx.sink, ctx.state, ctx.stmts
    creates: list[tuple[int, ComponentRef, Version, ast.Create]] = []
    refs: dict[str, None] = {}  # distinct refs in order of first use (a list lookup was quadratic)
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Create):
            v = version(ctx, s.version)
            ok = _check_ref(ctx, s.ref)
            if v is not None and ok:
                creates.extend((i, c, v, s) for c, _ in ctx.comps[i])
                refs[s.ref.text] = None
    commits: Mapping[str, str | None] = {}
    if refs:
        resolver = ctx.inputs.resolve_refs or git_ref_resolver(Repo(ctx.config.root), Remote(ctx.config.remote))
        try:
            commits = resolver(list(refs))
        except PlannerError as exc:
            first = next(s for s in stmts if isinstance(s, ast.Create))
            sink.error(f"cannot resolve git refs: {exc.message}", first.ref.span)
            commits = dict.fromkeys(refs, "")  # "" = already reported, stay quiet below
    for i, comp, v, s in creates:
        commit = commits.get(s.ref.text)
        if commit is None:
            hint = suggest(s.ref.text, _branches(ctx))  # `at mian`: did you mean 'main'?
            sink.error(f"cannot resolve '{s.ref.text}' to a commit (not a branch, tag or commit){hint}", s.ref.span)
        key = (comp, v)
        if key in ctx.create_span:
            sink.error(f"version {v} of {comp} is created twice (first at {ctx.create_span[key]})", s.version.span)
            continue
        ctx.create_span[key] = s.span
        if not commit:
            continue
        cs = state.component(comp)
        existing = cs.versions.get(v) if cs else None
        if existing is not None:
            if existing.commit != commit:
                sink.error(
                    f"version {v} of {comp} already exists at {existing.commit[:12]}; version tags are immutable"
                    f" ('{s.ref.text}' is {commit[:12]})",
                    s.version.span,
                )
            else:
                sink.warning(f"version {v} of {comp} already exists at this commit; nothing to create", s.version.span)
                ctx.created[key] = commit
            continue
        ctx.created[key] = commit
        step = CreateVersion(comp, ctx.universe[comp], v, commit, s.ref.text, s.span)
        ctx.create_ids[key] = step.id
        ctx.steps.append(step)
        ctx.stmt_steps[i].append(step.id)
        note_rebuild(ctx, comp, s.span)


def version_commit(ctx: Scope, comp: ComponentRef, v: Version, w: ast.Word) -> str | None:
    """The commit of a version: created by this plan, else tagged on the remote, else an error."""
    if (comp, v) in ctx.created:
        return ctx.created[(comp, v)]
    cs = ctx.state.component(comp)
    if cs is not None and v in cs.versions:
        return cs.versions[v].commit
    if (comp, v) not in ctx.create_span:  # a failed create was reported already
        ctx.sink.error(f"version {v} of {comp} does not exist and is not created by this plan", w.span)
    return None
