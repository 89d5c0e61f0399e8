"""``create environment ENV``: the only way a plan names an environment that is known nowhere
(not in planner.toml's ``environments``, no tags on the remote)."""

from __future__ import annotations

from planner.errors import Diagnostic
from planner.lang import ast
from planner.lang.scope import Scope
from planner.model import ModelError, validate_env


def declare_envs(ctx: Scope) -> None:
    """Pass: the declarations -> the new environments this plan may move into."""
    ctx.remote_envs = frozenset(ctx.state.env_names())
    listed = ctx.config.environments
    for s in ctx.stmts:
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


def report_new_envs(ctx: Scope) -> None:
    """Pass: each declared environment a move goes into is a warning, so the review shows it."""
    moved = {key[1] for key in ctx.moves}
    out = []
    for env, s in ctx.new_envs.items():
        if env in moved:
            out.append(env)
            ctx.sink.warning(f"creates environment '{env}' (it has no tags on the remote yet)", s.span)
        else:
            ctx.sink.warning(f"environment '{env}' is created but no statement moves a component into it", s.span)
    ctx.created_envs = tuple(out)
