"""Names as written -> what they mean: components (refs, bare names, lists, globs), versions,
environments; every mistake is a diagnostic at the word, with did-you-mean."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence

from planner.config import check_known_env
from planner.errors import Diagnostic, PlannerError, Span
from planner.lang import ast
from planner.lang.scope import Scope
from planner.model import NAMESPACE_TO_TYPE, ComponentRef, ModelError, Version, validate_env

GLOB = re.compile(r"[*?\[]")


def _similarity(word: str, choice: str) -> float:
    """``type/name`` pairs compare their name parts (a shared ``prompts/`` prefix says nothing)
    and need a similar type too; plain words compare whole."""
    if "/" in word and "/" in choice:
        (wt, wn), (ct, cn) = word.rsplit("/", 1), choice.rsplit("/", 1)
        if difflib.SequenceMatcher(None, wt, ct).ratio() < 0.6:
            return 0.0
        return difflib.SequenceMatcher(None, wn, cn).ratio()
    return difflib.SequenceMatcher(None, word, choice).ratio()


def suggest(word: str, choices: Sequence[str]) -> str:
    scored = [(_similarity(word, c), c) for c in choices]
    best = max(scored, default=(0.0, ""), key=lambda sc: sc[0])
    match = [best[1]] if best[0] >= 0.6 else []
    if not match and word:  # abbreviations: 'prod' -> 'production'
        match = [c for c in choices if c.startswith(word)][:1]
    return f" (did you mean '{match[0]}'?)" if match else ""


def load_universe(ctx: Scope) -> None:
    """Pass: the known components, from the remote's tags and the registry."""
    for ref, cs in ctx.state.components.items():
        ctx.universe[ref] = cs.prefix
    for ref, comp in ctx.inputs.registry.components.items():
        ctx.universe[ref] = comp.prefix  # the registry decides the prefix when it knows the component
    for ref in sorted(ctx.universe):
        ctx.by_name.setdefault(ref.name, []).append(ref)
        ctx.canon[ref] = ref


def expand_components(ctx: Scope) -> None:
    """Pass: every statement's component words -> (component, word) pairs."""
    ctx.comps = [
        _components(ctx, s.components) if not isinstance(s, ast.VerifyStmt | ast.NewEnvironment) else []
        for s in ctx.stmts
    ]
    ctx.stmt_steps = [[] for _ in ctx.stmts]


def _components(ctx: Scope, words: Sequence[ast.Word]) -> list[tuple[ComponentRef, ast.Word]]:
    """Expand refs, bare names, lists and globs against the registry (and remote) components.

    A component named explicitly maps to its own word; one found by a glob maps to the glob's word
    (``GLOB`` matches its text), which lets a copy skip glob matches that lack the source env.
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


def _expand(ctx: Scope, w: ast.Word, out: dict[ComponentRef, ast.Word]) -> None:
    """One word of a component list -> the components it names (errors go to the sink)."""
    text = w.text
    if GLOB.search(text):
        ns, sep, _ = text.partition("/")
        if sep and not GLOB.search(ns) and ns not in NAMESPACE_TO_TYPE:
            ctx.sink.error(
                f"unknown component type '{ns}'{suggest(ns, sorted(NAMESPACE_TO_TYPE))}",
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
            ctx.sink.error(f"unknown component type '{ns}'{suggest(ns, sorted(NAMESPACE_TO_TYPE))}", w.span)
            return
        known = ctx.canon.get(ComponentRef(ns, name))
        if known is None:
            ctx.sink.error(f"unknown component '{text}'{suggest(text, [str(r) for r in ctx.universe])}", w.span)
            return
        out.setdefault(known, w)
        return
    refs = ctx.by_name.get(text, [])
    if not refs:
        ctx.sink.error(f"unknown component '{text}'{suggest(text, sorted(ctx.by_name))}", w.span)
    elif len(refs) > 1:
        ctx.sink.error(
            f"ambiguous component '{text}': it matches {', '.join(str(r) for r in refs)}; write type/name",
            w.span,
        )
    else:
        out.setdefault(refs[0], w)


def version(ctx: Scope, w: ast.Word) -> Version | None:
    if ctx.versions_ok.get(w.text) is not None:
        return ctx.versions_ok[w.text]
    try:
        v = ctx.versions_ok[w.text] = Version.parse(w.text)
        return v
    except ModelError as exc:
        ctx.sink.error(exc.message, w.span)
        return None


def env(ctx: Scope, w: ast.Word) -> str | None:
    if ctx.envs_ok.get(w.text) is not None:
        return ctx.envs_ok[w.text]
    name = _check_env(ctx, w)
    ctx.envs_ok[w.text] = name
    return name


def _check_env(ctx: Scope, w: ast.Word) -> str | None:
    try:
        name = validate_env(w.text)
    except ModelError as exc:
        ctx.sink.error(exc.message, w.span)
        return None
    envs = ctx.config.environments
    if envs is not None and name not in envs:
        ctx.sink.error(
            f"unknown environment '{name}'{suggest(name, envs)}",
            w.span,
            f"planner.toml lists: {', '.join(envs)}",
        )
        return None
    if envs is None and name not in ctx.remote_envs and name not in ctx.new_envs:
        try:  # the known set and the did-you-mean of `--env` (planner.config), at this word
            check_known_env(name, ctx.config, sorted(ctx.remote_envs), declared=sorted(ctx.new_envs))
        except PlannerError as exc:
            ctx.sink.error(exc.message, w.span, f"to start a new environment, write: create environment {name}")
            return None
    return name


def note_rebuild(ctx: Scope, comp: ComponentRef, span: Span) -> None:
    if ctx.universe.get(comp) == "logic" and comp not in ctx.rebuild_noted:
        ctx.rebuild_noted.add(comp)
        ctx.sink.items.append(
            Diagnostic("note", f"{comp} is a logic component: it needs a Worker rebuild and redeploy", span)
        )
