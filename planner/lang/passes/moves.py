"""Environment moves: ``promote C VERSION to ENV`` and ``rollback C in ENV [to VERSION]`` (their
target is known), then ``promote C from SRC to DST`` (copies: DST gets what SRC holds once this
plan's moves into SRC are done, so ``dev -> staging -> production`` chains work in one plan)."""

from __future__ import annotations

from planner.errors import Diagnostic, Span
from planner.lang import ast
from planner.lang.passes.creates import version_commit
from planner.lang.passes.names import GLOB, env, note_rebuild, version
from planner.lang.scope import Key, Move, PendingCopy, Scope
from planner.model import ComponentRef, Version
from planner.steps import MoveEnv, MoveKind


def _add_move(ctx: Scope, i: int, step: MoveEnv, env_word: ast.Word) -> None:
    key = (step.component, step.env)
    if key in ctx.moves:
        first = ctx.stmts[ctx.moves[key].stmt].span
        ctx.sink.error(
            f"{step.component} in {step.env} is moved twice: by this statement and by the statement at {first}",
            env_word.span,
        )
        return
    ctx.moves[key] = Move(step, i)
    ctx.stmt_steps[i].append(step.id)
    _warn_in_place(ctx, step, env_word.span)
    note_rebuild(ctx, step.component, ctx.stmts[i].span)


def resolve_moves(ctx: Scope) -> None:
    """Pass: promote VERSION / rollback statements -> MoveEnv steps."""
    for i, s in enumerate(ctx.stmts):
        if not isinstance(s, ast.Promote | ast.Rollback):
            continue
        name = env(ctx, s.env)
        v = version(ctx, s.version) if s.version is not None else None
        kind: MoveKind = "promote" if isinstance(s, ast.Promote) else "rollback"
        for comp, _ in ctx.comps[i]:
            if name is None:
                continue
            prefix = ctx.universe[comp]
            if s.version is None:
                assert isinstance(s, ast.Rollback)  # a promote always names its version
                target = _previous(ctx, comp, name, s)
                if target is None:
                    continue
                commit, tv = target
                _add_move(ctx, i, MoveEnv(comp, prefix, name, tv, commit, kind, span=s.span), s.env)
                continue
            if v is None:
                continue
            c = version_commit(ctx, comp, v, s.version)
            if c is None:
                continue
            _add_move(ctx, i, MoveEnv(comp, prefix, name, v, c, kind, span=s.span), s.env)


def resolve_copies(ctx: Scope) -> None:
    """Pass: copies -> MoveEnv steps of kind "copy", each from what its source env holds."""
    stmts, sink = ctx.stmts, ctx.sink
    # What the plan moves anywhere: only a glob in a copy asks (_skip_copy), so skip it otherwise.
    glob_copy = any(isinstance(s, ast.Copy) and any(GLOB.search(w.text) for w in s.components) for s in stmts)
    moves_into = {
        (c, s.env.text)
        for i, s in enumerate(stmts)
        if glob_copy and isinstance(s, ast.Promote | ast.Rollback | ast.Copy)
        for c, _ in ctx.comps[i]
    }
    copies: list[tuple[int, ComponentRef, str, str, ast.Copy]] = []
    for i, s in enumerate(stmts):
        if not isinstance(s, ast.Copy):
            continue
        src = env(ctx, s.from_env)
        dst = env(ctx, s.env)
        if src is not None and dst is not None and src == dst:
            sink.error(f"cannot promote from '{src}' to itself", s.env.span)
            continue
        if src is None or dst is None:
            continue
        copies.extend(
            (i, comp, src, dst, s) for comp, w in ctx.comps[i] if not _skip_copy(ctx, comp, src, w, moves_into)
        )
    # Reserve copy targets first so a chain (dev -> staging -> production) sees every move.
    pending = ctx.pending
    for i, comp, src, dst, s in copies:
        ckey = (comp, dst)
        if ckey in ctx.moves or ckey in pending:
            first_stmt = ctx.moves[ckey].stmt if ckey in ctx.moves else pending[ckey].stmt
            sink.error(
                f"{comp} in {dst} is moved twice: by this statement and by the statement at {stmts[first_stmt].span}",
                s.env.span,
            )
            continue
        pending[ckey] = PendingCopy(i, src, s)
    resolving: set[Key] = set()
    for (comp, dst), p in pending.items():
        if (comp, dst) in ctx.moves:  # already resolved through a chain
            continue
        if _source_of(ctx, comp, dst, resolving) is None:
            sink.error(
                f"cannot promote {comp} from '{p.src}': it has no '{p.src}' tag on the remote"
                " and this plan does not move it",
                p.node.from_env.span,
            )
    # Steps in statement order (copies were resolved out of order above).
    ctx.steps.extend(m.step for m in sorted(ctx.moves.values(), key=lambda m: (m.stmt, m.step.id)))


def _source_of(ctx: Scope, comp: ComponentRef, env: str, resolving: set[Key]) -> tuple[str, Version | None] | None:
    """What ``env`` holds once this plan's earlier moves into it are done.

    Follows the chain of copies (into env, into its source env, ...) in a loop: a recursive
    closure is a reference cycle, which kept resolve's whole state alive until a GC pass."""
    moves, pending = ctx.moves, ctx.pending
    chain: list[Key] = []  # unresolved copies, outermost first
    key = (comp, env)
    while key not in moves and key in pending and key not in resolving:
        resolving.add(key)
        chain.append(key)
        key = (comp, pending[key].src)
    if key in moves:
        got: tuple[str, Version | None] | None = (moves[key].step.commit, moves[key].step.version)
    else:
        cs = ctx.state.component(comp)
        pointer = cs.envs.get(key[1]) if cs else None
        got = (pointer.tag.commit, pointer.version) if pointer else None
    if got is not None:
        for skey in reversed(chain):  # the innermost copy first, as its source is known first
            p = pending[skey]
            step = MoveEnv(comp, ctx.universe[comp], skey[1], got[1], got[0], "copy", p.src, p.node.span)
            moves[skey] = Move(step, p.stmt)
            ctx.stmt_steps[p.stmt].append(step.id)
            _warn_in_place(ctx, step, p.node.env.span)
            note_rebuild(ctx, comp, p.node.span)
    return got


def _warn_in_place(ctx: Scope, step: MoveEnv, span: Span) -> None:
    cs = ctx.state.component(step.component)
    pointer = cs.envs.get(step.env) if cs else None
    if pointer is not None and pointer.tag.commit == step.commit:
        what = str(step.version) if step.version else step.commit[:12]
        kind = "promote" if step.kind == "copy" else step.kind
        ctx.sink.warning(f"{step.component} in {step.env} already points at {what}; this {kind} changes nothing", span)


def _skip_copy(ctx: Scope, comp: ComponentRef, src: str, w: ast.Word, moved: set[Key]) -> bool:
    """A glob copies only the components that have the source env (a named one must have it)."""
    if not GLOB.search(w.text) or (comp, src) in moved:
        return False
    cs = ctx.state.component(comp)
    if cs is not None and src in cs.envs:
        return False
    ctx.sink.items.append(Diagnostic("note", f"{comp} has no '{src}' tag; '{w.text}' skips it", w.span))
    return True


def _previous(ctx: Scope, comp: ComponentRef, env: str, s: ast.Rollback) -> tuple[str, Version | None] | None:
    ledger = ctx.inputs.ledger
    if ledger is None:
        ctx.sink.error(
            f"'rollback {comp} in {env}' without a version needs the release ledger, which is not available"
            f" here; write 'rollback {comp} in {env} to VERSION'",
            s.span,
        )
        return None
    target = ledger.previous_target(comp, env)
    if target is None:
        ctx.sink.error(f"the release ledger records no previous target of {comp} in {env}", s.span)
    return target
