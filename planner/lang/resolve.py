"""Semantic checks: AST + Registry + RepoState + config -> steps, ordering edges, diagnostics.

Every error in a file is collected in one run (a DiagnosticSink). Pure except for resolving the
plan's git refs, which is ONE batched ``git cat-file --batch-check`` through an injectable
``RefResolver``.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from planner.config import PlannerConfig, check_known_env
from planner.errors import Diagnostic, DiagnosticSink, PlannerError, Span
from planner.lang import ast
from planner.model import NAMESPACE_TO_TYPE, ComponentRef, ModelError, Prefix, Version, validate_env
from planner.registry import Registry
from planner.state import RepoState
from planner.steps import CreateVersion, Mark, MoveEnv, MoveKind, Override, Reject, Step, Verify


class EnvHistory(Protocol):
    """Where an environment pointed before its last move (the release ledger implements this)."""

    def previous_target(self, component: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        """(commit, version at that commit or None), or None if nothing is recorded."""
        ...


# refs as written -> full commit id, or None when the ref does not name a commit.
RefResolver = Callable[[Sequence[str]], Mapping[str, str | None]]

_GLOB = re.compile(r"[*?\[]")
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def git_ref_resolver(repo: Path | str, remote: str | None = None) -> RefResolver:
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


@dataclass(frozen=True)
class Resolved:
    steps: tuple[Step, ...]  # in statement order (graph.order_steps orders them)
    edges: tuple[tuple[str, str], ...]  # (before, after)
    diagnostics: tuple[Diagnostic, ...]
    marks: tuple[Mark, ...] = ()  # reject/override, in statement order; not ordered (no edges)
    new_envs: tuple[str, ...] = ()  # `create environment` declarations that this plan moves into


@dataclass
class _Move:
    step: MoveEnv
    stmt: int


@dataclass
class _Ctx:
    registry: Registry
    state: RepoState
    config: PlannerConfig
    ledger: EnvHistory | None
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    universe: dict[ComponentRef, Prefix] = field(default_factory=dict)
    by_name: dict[str, list[ComponentRef]] = field(default_factory=dict)
    rebuild_noted: set[ComponentRef] = field(default_factory=set)
    # A large plan repeats the same few env names and versions: validate each text once.
    envs_ok: dict[str, str | None] = field(default_factory=dict)
    versions_ok: dict[str, Version | None] = field(default_factory=dict)
    expanded: dict[str, tuple[ComponentRef, ...]] = field(default_factory=dict)  # word -> components
    # Each known component -> the one ComponentRef object used for it throughout: lookups of an
    # identical key skip the dataclass __eq__ (~50,000 calls on a 10,000-statement plan).
    canon: dict[ComponentRef, ComponentRef] = field(default_factory=dict)
    remote_envs: frozenset[str] = frozenset()  # environments with tags on the remote
    new_envs: dict[str, ast.NewEnvironment] = field(default_factory=dict)  # accepted declarations


def _similarity(word: str, choice: str) -> float:
    """``type/name`` pairs compare their name parts (a shared ``prompts/`` prefix says nothing)
    and need a similar type too; plain words compare whole."""
    if "/" in word and "/" in choice:
        (wt, wn), (ct, cn) = word.rsplit("/", 1), choice.rsplit("/", 1)
        if difflib.SequenceMatcher(None, wt, ct).ratio() < 0.6:
            return 0.0
        return difflib.SequenceMatcher(None, wn, cn).ratio()
    return difflib.SequenceMatcher(None, word, choice).ratio()


def _suggest(word: str, choices: Sequence[str]) -> str:
    scored = [(_similarity(word, c), c) for c in choices]
    best = max(scored, default=(0.0, ""), key=lambda sc: sc[0])
    match = [best[1]] if best[0] >= 0.6 else []
    if not match and word:  # abbreviations: 'prod' -> 'production'
        match = [c for c in choices if c.startswith(word)][:1]
    return f" (did you mean '{match[0]}'?)" if match else ""


def _universe(ctx: _Ctx) -> None:
    for ref, cs in ctx.state.components.items():
        ctx.universe[ref] = cs.prefix
    for ref, comp in ctx.registry.components.items():
        ctx.universe[ref] = comp.prefix  # the registry decides the prefix when it knows the component
    for ref in sorted(ctx.universe):
        ctx.by_name.setdefault(ref.name, []).append(ref)
        ctx.canon[ref] = ref


def _components(ctx: _Ctx, words: Sequence[ast.Word]) -> list[tuple[ComponentRef, ast.Word]]:
    """Expand refs, bare names, lists and globs against the registry (and remote) components.

    A component named explicitly maps to its own word; one found by a glob maps to the glob's word
    (``_GLOB`` matches its text), which lets a copy skip glob matches that lack the source env.
    """
    out: dict[ComponentRef, ast.Word] = {}
    for w in words:
        hit = ctx.expanded.get(w.text)
        if hit is None:
            errors_before = len(ctx.sink.items)
            found: dict[ComponentRef, ast.Word] = {}
            _expand(ctx, w, found)
            hit = tuple(found)
            if len(ctx.sink.items) == errors_before:  # cache clean expansions only: errors need each span
                ctx.expanded[w.text] = hit
        for ref in hit:
            out.setdefault(ref, w)
    return list(out.items())


def _expand(ctx: _Ctx, w: ast.Word, out: dict[ComponentRef, ast.Word]) -> None:
    """One word of a component list -> the components it names (errors go to the sink)."""
    text = w.text
    if _GLOB.search(text):
        ns, sep, _ = text.partition("/")
        if sep and not _GLOB.search(ns) and ns not in NAMESPACE_TO_TYPE:
            ctx.sink.error(
                f"unknown component type '{ns}'{_suggest(ns, sorted(NAMESPACE_TO_TYPE))}",
                w.span,
            )
            return
        hits = [r for r in ctx.universe if fnmatch.fnmatchcase(str(r) if sep else r.name, text)]
        if not hits:
            ctx.sink.error(f"pattern '{text}' matches no component", w.span)
        for r in sorted(hits):
            out.setdefault(r, w)
        return
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2 or not parts[1]:
            ctx.sink.error(f"invalid component reference '{text}': expected type/name, e.g. prompts/extraction", w.span)
            return
        ns, name = parts
        if ns not in NAMESPACE_TO_TYPE:
            ctx.sink.error(f"unknown component type '{ns}'{_suggest(ns, sorted(NAMESPACE_TO_TYPE))}", w.span)
            return
        known = ctx.canon.get(ComponentRef(ns, name))
        if known is None:
            ctx.sink.error(f"unknown component '{text}'{_suggest(text, [str(r) for r in ctx.universe])}", w.span)
            return
        out.setdefault(known, w)
        return
    refs = ctx.by_name.get(text, [])
    if not refs:
        ctx.sink.error(f"unknown component '{text}'{_suggest(text, sorted(ctx.by_name))}", w.span)
    elif len(refs) > 1:
        ctx.sink.error(
            f"ambiguous component '{text}': it matches {', '.join(str(r) for r in refs)}; write type/name",
            w.span,
        )
    else:
        out.setdefault(refs[0], w)


def _version(ctx: _Ctx, w: ast.Word) -> Version | None:
    if ctx.versions_ok.get(w.text) is not None:
        return ctx.versions_ok[w.text]
    try:
        v = ctx.versions_ok[w.text] = Version.parse(w.text)
        return v
    except ModelError as exc:
        ctx.sink.error(exc.message, w.span)
        return None


def _env(ctx: _Ctx, w: ast.Word) -> str | None:
    if ctx.envs_ok.get(w.text) is not None:
        return ctx.envs_ok[w.text]
    env = _check_env(ctx, w)
    ctx.envs_ok[w.text] = env
    return env


def _check_env(ctx: _Ctx, w: ast.Word) -> str | None:
    try:
        env = validate_env(w.text)
    except ModelError as exc:
        ctx.sink.error(exc.message, w.span)
        return None
    envs = ctx.config.environments
    if envs is not None and env not in envs:
        ctx.sink.error(
            f"unknown environment '{env}'{_suggest(env, envs)}",
            w.span,
            f"planner.toml lists: {', '.join(envs)}",
        )
        return None
    if envs is None and env not in ctx.remote_envs and env not in ctx.new_envs:
        try:  # the known set and the did-you-mean of `--env` (planner.config), at this word
            check_known_env(env, ctx.config, sorted(ctx.remote_envs), declared=sorted(ctx.new_envs))
        except PlannerError as exc:
            ctx.sink.error(exc.message, w.span, f"to start a new environment, write: create environment {env}")
            return None
    return env


def _declare_envs(ctx: _Ctx, stmts: Sequence[ast.Statement]) -> None:
    """``create environment E`` statements -> the new environments this plan may move into."""
    listed = ctx.config.environments
    for s in stmts:
        if not isinstance(s, ast.NewEnvironment):
            continue
        if s.label is not None or s.after:
            where = s.label.span if s.label is not None else s.after[0].span
            ctx.sink.error("'create environment' runs no step: it takes no label and no 'after'", where)
        try:
            env = validate_env(s.env.text)
        except ModelError as exc:
            ctx.sink.error(exc.message, s.env.span)
            continue
        if env in ctx.new_envs:
            ctx.sink.error(f"environment '{env}' is created twice (first at {ctx.new_envs[env].span})", s.env.span)
        elif listed is not None and env not in listed:
            ctx.sink.error(
                f"environment '{env}' is not in planner.toml's environments; add it there to create it",
                s.env.span,
                f"planner.toml lists: {', '.join(listed)}",
            )
        elif env in ctx.remote_envs:
            ctx.sink.items.append(
                Diagnostic("note", f"environment '{env}' already has tags on the remote; nothing to create", s.span)
            )
        else:
            ctx.new_envs[env] = s


def _new_envs(ctx: _Ctx, moved: set[str]) -> tuple[str, ...]:
    """The declared environments a move goes into; each is a warning, so the review shows it."""
    out = []
    for env, s in ctx.new_envs.items():
        if env in moved:
            out.append(env)
            ctx.sink.warning(f"creates environment '{env}' (it has no tags on the remote yet)", s.span)
        else:
            ctx.sink.warning(f"environment '{env}' is created but no statement moves a component into it", s.span)
    return tuple(out)


def _check_ref(ctx: _Ctx, w: ast.Word) -> bool:
    r = w.text
    if r.startswith("-"):
        ctx.sink.error(f"invalid git ref '{r}': it starts with '-' and could be read as an option", w.span)
        return False
    if not r or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in r):
        ctx.sink.error(f"invalid git ref {r!r}: it is empty or contains whitespace or control characters", w.span)
        return False
    return True


def _duration(ctx: _Ctx, w: ast.Word) -> float | None:
    m = _DURATION.match(w.text)
    seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    if seconds <= 0:
        ctx.sink.error(f"invalid duration '{w.text}': expected a positive number with ms, s, m or h", w.span)
        return None
    return seconds


def _labels(ctx: _Ctx, plan: ast.Plan) -> dict[str, int]:
    labels: dict[str, int] = {}
    for i, stmt in enumerate(plan.statements):
        if stmt.label is None:
            continue
        if stmt.label.text in labels:
            first = plan.statements[labels[stmt.label.text]].label
            where = f" (first at {first.span})" if first else ""
            ctx.sink.error(f"duplicate label '{stmt.label.text}'{where}", stmt.label.span)
        else:
            labels[stmt.label.text] = i
    return labels


def resolve(
    plan: ast.Plan,
    *,
    registry: Registry,
    state: RepoState,
    config: PlannerConfig,
    ledger: EnvHistory | None = None,
    resolve_refs: RefResolver | None = None,
) -> Resolved:
    """Check ``plan`` and produce its steps and ordering edges; errors are in ``diagnostics``."""
    ctx = _Ctx(registry, state, config, ledger, remote_envs=frozenset(state.env_names()))
    _universe(ctx)
    _declare_envs(ctx, plan.statements)
    sink = ctx.sink
    labels = _labels(ctx, plan)
    stmts = plan.statements
    comps = [
        [] if isinstance(s, ast.VerifyStmt | ast.NewEnvironment) else _components(ctx, s.components) for s in stmts
    ]
    stmt_steps: list[list[str]] = [[] for _ in stmts]

    # 1. creates: resolve every REF of the plan in one batch.
    creates: list[tuple[int, ComponentRef, Version, ast.Create]] = []
    refs: dict[str, None] = {}  # distinct refs in order of first use (a list lookup was quadratic)
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Create):
            v = _version(ctx, s.version)
            ok = _check_ref(ctx, s.ref)
            if v is not None and ok:
                creates.extend((i, c, v, s) for c, _ in comps[i])
                refs[s.ref.text] = None
    commits: Mapping[str, str | None] = {}
    if refs:
        resolver = resolve_refs or git_ref_resolver(config.root, config.remote)
        try:
            commits = resolver(list(refs))
        except PlannerError as exc:
            first = next(s for s in stmts if isinstance(s, ast.Create))
            sink.error(f"cannot resolve git refs: {exc.message}", first.ref.span)
            commits = dict.fromkeys(refs, "")  # "" = already reported, stay quiet below
    created: dict[tuple[ComponentRef, Version], str] = {}
    create_ids: dict[tuple[ComponentRef, Version], str] = {}
    steps: list[Step] = []
    edges: list[tuple[str, str]] = []
    create_span: dict[tuple[ComponentRef, Version], Span] = {}
    for i, comp, v, s in creates:
        commit = commits.get(s.ref.text)
        if commit is None:
            sink.error(f"cannot resolve '{s.ref.text}' to a commit (not a branch, tag or commit)", s.ref.span)
        key = (comp, v)
        if key in create_span:
            sink.error(f"version {v} of {comp} is created twice (first at {create_span[key]})", s.version.span)
            continue
        create_span[key] = s.span
        if not commit:
            continue
        prefix = ctx.universe[comp]
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
                created[key] = commit
            continue
        created[key] = commit
        step = CreateVersion(comp, prefix, v, commit, s.ref.text, s.span)
        create_ids[key] = step.id
        steps.append(step)
        stmt_steps[i].append(step.id)
        _note_rebuild(ctx, comp, s.span)

    def version_commit(comp: ComponentRef, v: Version, w: ast.Word) -> str | None:
        if (comp, v) in created:
            return created[(comp, v)]
        cs = state.component(comp)
        if cs is not None and v in cs.versions:
            return cs.versions[v].commit
        if (comp, v) not in create_span:  # a failed create was reported already
            sink.error(f"version {v} of {comp} does not exist and is not created by this plan", w.span)
        return None

    # 2. moves with a known target (promote VERSION, rollback), then copies (need the source env).
    # What the plan moves anywhere: only a glob in a copy asks (_skip_copy), so skip it otherwise.
    glob_copy = any(isinstance(s, ast.Copy) and any(_GLOB.search(w.text) for w in s.components) for s in stmts)
    moves_into = {
        (c, s.env.text)
        for i, s in enumerate(stmts)
        if glob_copy and isinstance(s, ast.Promote | ast.Rollback | ast.Copy)
        for c, _ in comps[i]
    }
    moves: dict[tuple[ComponentRef, str], _Move] = {}
    copies: list[tuple[int, ComponentRef, str, str, ast.Copy]] = []

    def add_move(i: int, comp: ComponentRef, env: str, step: MoveEnv, env_word: ast.Word) -> None:
        key = (comp, env)
        if key in moves:
            first = stmts[moves[key].stmt].span
            sink.error(f"{comp}@{env} is moved twice: by this statement and by the statement at {first}", env_word.span)
            return
        moves[key] = _Move(step, i)
        stmt_steps[i].append(step.id)
        _warn_in_place(ctx, step, env_word.span)
        _note_rebuild(ctx, comp, stmts[i].span)

    for i, s in enumerate(stmts):
        if isinstance(s, ast.Promote | ast.Rollback):
            env = _env(ctx, s.env)
            v = _version(ctx, s.version) if s.version is not None else None
            kind: MoveKind = "promote" if isinstance(s, ast.Promote) else "rollback"
            for comp, _ in comps[i]:
                if env is None:
                    continue
                prefix = ctx.universe[comp]
                if s.version is None:
                    target = _previous(ctx, comp, env, s)
                    if target is None:
                        continue
                    commit, tv = target
                    add_move(i, comp, env, MoveEnv(comp, prefix, env, tv, commit, kind, span=s.span), s.env)
                    continue
                if v is None:
                    continue
                c = version_commit(comp, v, s.version)
                if c is None:
                    continue
                add_move(i, comp, env, MoveEnv(comp, prefix, env, v, c, kind, span=s.span), s.env)
                if (comp, v) in create_ids:
                    edges.append((create_ids[(comp, v)], f"move {comp}@{env}"))
        elif isinstance(s, ast.Copy):
            src = _env(ctx, s.from_env)
            dst = _env(ctx, s.env)
            if src is not None and dst is not None and src == dst:
                sink.error(f"cannot promote from '{src}' to itself", s.env.span)
                continue
            if src is None or dst is None:
                continue
            copies.extend(
                (i, comp, src, dst, s) for comp, w in comps[i] if not _skip_copy(ctx, comp, src, w, moves_into)
            )
    # Reserve copy targets first so a chain (dev -> staging -> production) sees every move.
    pending: dict[tuple[ComponentRef, str], tuple[int, str, ast.Copy]] = {}
    for i, comp, src, dst, s in copies:
        ckey = (comp, dst)
        if ckey in moves or ckey in pending:
            first_stmt = moves[ckey].stmt if ckey in moves else pending[ckey][0]
            sink.error(
                f"{comp}@{dst} is moved twice: by this statement and by the statement at {stmts[first_stmt].span}",
                s.env.span,
            )
            continue
        pending[ckey] = (i, src, s)

    resolving: set[tuple[ComponentRef, str]] = set()

    def source_of(comp: ComponentRef, env: str) -> tuple[str, Version | None] | None:
        """What ``env`` holds once this plan's earlier moves into it are done.

        Follows the chain of copies (into env, into its source env, ...) in a loop: a recursive
        closure is a reference cycle, which kept resolve's whole state alive until a GC pass."""
        chain: list[tuple[ComponentRef, str]] = []  # unresolved copies, outermost first
        key = (comp, env)
        while key not in moves and key in pending and key not in resolving:
            resolving.add(key)
            chain.append(key)
            key = (comp, pending[key][1])
        if key in moves:
            got: tuple[str, Version | None] | None = (moves[key].step.commit, moves[key].step.version)
        else:
            cs = state.component(comp)
            pointer = cs.envs.get(key[1]) if cs else None
            got = (pointer.tag.commit, pointer.version) if pointer else None
        if got is not None:
            for skey in reversed(chain):  # the innermost copy first, as its source is known first
                j, from_env, cstmt = pending[skey]
                step = MoveEnv(comp, ctx.universe[comp], skey[1], got[1], got[0], "copy", from_env, cstmt.span)
                moves[skey] = _Move(step, j)
                stmt_steps[j].append(step.id)
                _warn_in_place(ctx, step, cstmt.env.span)
                _note_rebuild(ctx, comp, cstmt.span)
        return got

    for (comp, dst), (_i, src, cstmt) in pending.items():
        if (comp, dst) in moves:  # already resolved through a chain
            continue
        if source_of(comp, dst) is None:
            sink.error(
                f"cannot promote {comp} from '{src}': it has no '{src}' tag on the remote"
                " and this plan does not move it",
                cstmt.from_env.span,
            )
    for (comp, dst), (_, src, _s) in pending.items():
        if (comp, dst) in moves and (comp, src) in moves:
            edges.append((moves[(comp, src)].step.id, moves[(comp, dst)].step.id))

    # Steps in statement order (copies were resolved out of order above).
    move_list = sorted(moves.values(), key=lambda m: (m.stmt, m.step.id))
    steps.extend(m.step for m in move_list)

    # 3. verify statements.
    verifies: list[Verify] = []
    for i, s in enumerate(stmts):
        if not isinstance(s, ast.VerifyStmt):
            continue
        env = _env(ctx, s.env)
        url_ok = _check_url(ctx, s.url)
        status = int(s.status.text) if s.status.text.isdigit() and len(s.status.text) <= 3 else 0
        if not 100 <= status <= 599:
            sink.error(f"invalid HTTP status '{s.status.text}': expected a number from 100 to 599", s.status.span)
        within = _duration(ctx, s.within) if s.within is not None else None
        if env is None or not url_ok or not 100 <= status <= 599 or (s.within is not None and within is None):
            continue
        vstep = Verify(env, s.url.text, status, within, len(verifies), s.span)
        verifies.append(vstep)
        steps.append(vstep)
        stmt_steps[i].append(vstep.id)

    # 4. ordering edges from dependencies, verifies and `after`.
    by_env: dict[str, list[MoveEnv]] = {}
    for m in move_list:
        by_env.setdefault(m.step.env, []).append(m.step)
    deps = registry.dependencies()
    uses: dict[ComponentRef, list[ComponentRef]] = {}  # sorted once per component, not per move
    for m in move_list:
        a = m.step
        if a.component not in uses:
            uses[a.component] = sorted(ctx.canon.get(u, u) for u in deps.get(a.component, ()))
        for used in uses[a.component]:
            other = moves.get((used, a.env))
            if other is None:
                continue
            # promoted after what it uses; rolled back before it
            edges.append((a.id, other.step.id) if a.kind == "rollback" else (other.step.id, a.id))
    for vstep in verifies:
        edges.extend((mv.id, vstep.id) for mv in by_env.get(vstep.env, ()))
    for i, s in enumerate(stmts):
        for w in s.after:
            j = labels.get(w.text)
            if j is None:
                sink.error(f"unknown label '{w.text}'{_suggest(w.text, sorted(labels))}", w.span)
                continue
            if j == i:
                sink.error(f"statement '{w.text}' cannot run after itself", w.span)
                continue
            edges.extend((a, b) for a in stmt_steps[j] for b in stmt_steps[i])
    marks = _marks(ctx, stmts, comps)
    new_envs = _new_envs(ctx, set(by_env))
    return Resolved(tuple(steps), tuple(dict.fromkeys(edges)), tuple(sink.items), marks, new_envs)


def _marks(
    ctx: _Ctx, stmts: Sequence[ast.Statement], comps: Sequence[Sequence[tuple[ComponentRef, ast.Word]]]
) -> tuple[Mark, ...]:
    """reject/override statements -> marks on versions tagged on the remote (the first of a repeat wins)."""
    out: dict[str, Mark] = {}
    for i, s in enumerate(stmts):
        if not isinstance(s, ast.Reject | ast.Override):
            continue
        v = _version(ctx, s.version)
        if v is None:
            continue
        cls = Reject if isinstance(s, ast.Reject) else Override
        reason = s.reason.text if s.reason else ""
        for comp, _ in comps[i]:
            mark = cls(comp, v, reason, s.span)
            cs = ctx.state.component(comp)
            if cs is None or v not in cs.versions:
                ctx.sink.error(f"{mark.kind} {comp} {v}: that version has no tag on the remote", s.version.span)
                continue
            out.setdefault(mark.id, mark)
    return tuple(out.values())


def _warn_in_place(ctx: _Ctx, step: MoveEnv, span: Span) -> None:
    cs = ctx.state.component(step.component)
    pointer = cs.envs.get(step.env) if cs else None
    if pointer is not None and pointer.tag.commit == step.commit:
        what = str(step.version) if step.version else step.commit[:12]
        kind = "promote" if step.kind == "copy" else step.kind
        ctx.sink.warning(f"{step.component}@{step.env} already points at {what}; this {kind} changes nothing", span)


def _skip_copy(ctx: _Ctx, comp: ComponentRef, src: str, w: ast.Word, moved: set[tuple[ComponentRef, str]]) -> bool:
    """A glob copies only the components that have the source env (a named one must have it)."""
    if not _GLOB.search(w.text) or (comp, src) in moved:
        return False
    cs = ctx.state.component(comp)
    if cs is not None and src in cs.envs:
        return False
    ctx.sink.items.append(Diagnostic("note", f"{comp} has no '{src}' tag; '{w.text}' skips it", w.span))
    return True


def _previous(ctx: _Ctx, comp: ComponentRef, env: str, s: ast.Rollback) -> tuple[str, Version | None] | None:
    if ctx.ledger is None:
        ctx.sink.error(
            f"'rollback {comp} in {env}' without a version needs the release ledger, which is not available"
            f" here; write 'rollback {comp} in {env} to VERSION'",
            s.span,
        )
        return None
    target = ctx.ledger.previous_target(comp, env)
    if target is None:
        ctx.sink.error(f"the release ledger records no previous target of {comp}@{env}", s.span)
    return target


def _check_url(ctx: _Ctx, w: ast.Word) -> bool:
    try:
        parts = urlsplit(w.text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        ctx.sink.error(f"verify URL must be an http:// or https:// URL with a host, got '{w.text}'", w.span)
    return ok


def _note_rebuild(ctx: _Ctx, comp: ComponentRef, span: Span) -> None:
    if ctx.universe.get(comp) == "logic" and comp not in ctx.rebuild_noted:
        ctx.rebuild_noted.add(comp)
        ctx.sink.items.append(
            Diagnostic("note", f"{comp} is a logic component: it needs a Worker rebuild and redeploy", span)
        )
