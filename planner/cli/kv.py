"""``planner kv get|ls|diff`` (what the runtime will read) and ``planner sync`` (repair KV from tags)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import EnvOpt, FormatOpt, RemoteOpt, RepoDirOpt, RepoOpt
from planner.config import PlannerConfig, load_config
from planner.errors import EXIT_CHANGES, PlannerError
from planner.gitio import Remote, Repo
from planner.kv.base import KVError
from planner.kv.bindings import NamespaceTarget, close_stores, open_stores
from planner.kv.layout import keys_for
from planner.kv.sync import DesiredKey, KeyStatus, SyncError, compare, derive_keys, select_components, write
from planner.model import ComponentRef, ModelError, Version, parse_slot
from planner.state import RepoState, snapshot

kv_app = typer.Typer(help="Read what the runtime reads from KV: get, ls, diff.", no_args_is_help=True)
app.add_typer(kv_app, name="kv")
ComponentsArg = Annotated[
    list[str] | None, typer.Argument(metavar="COMPONENT", help="Only these components (type/name).")
]


def _known(cfg: PlannerConfig, env: str, repo: Path, state: RepoState | None) -> str:
    """``--env`` names a known environment (planner.toml's list, else the remote's env tags and
    the ``[kv.env.*]`` tables); outside a git repository there is no remote to ask."""
    from planner.config import check_known_env

    if cfg.environments is None and state is None:
        from planner.state import snapshot
        from planner.workspace import WorkspaceProblem, find_workspace

        try:
            find_workspace(repo)
        except WorkspaceProblem:
            return env
        try:
            state = snapshot(Repo(repo), Remote(cfg.remote))
        except PlannerError as exc:
            print(f"warning: --env {env} not checked against the remote's environments: {exc.message}", file=sys.stderr)
            return env
    remote_envs = [*(state.env_names() if state is not None else []), *cfg.kv.get("env", {})]
    return check_known_env(env, cfg, remote_envs)


def _remote_state(cfg: PlannerConfig, env: str | None, repo: Path) -> RepoState | None:
    """The remote's tags, when they are what names the environments: no ``--env``, no
    ``environments`` in planner.toml, inside a git repository. Else None (nothing is read)."""
    if env is not None or cfg.environments:
        return None
    from planner.workspace import WorkspaceProblem, find_workspace

    try:
        find_workspace(repo)
    except WorkspaceProblem:
        return None
    return snapshot(Repo(repo), Remote(cfg.remote))


def _envs(cfg: PlannerConfig, env: str | None, state: RepoState | None = None, *, repo: Path) -> list[str]:
    if env:
        return [_known(cfg, env, repo, state)]
    if cfg.environments:
        return list(cfg.environments)
    if state is not None:
        return state.env_names()
    raise PlannerError("no environments configured in planner.toml: pass --env")


@kv_app.command("get")
def kv_get(
    target: Annotated[str, typer.Argument(metavar="COMPONENT@SLOT", help="e.g. prompts/extraction@staging")],
    env: EnvOpt = None,
    repo: RepoDirOpt = Path("."),
) -> None:
    """Print the raw bytes stored for COMPONENT@SLOT.

    Read under the first configured key layout.
    """
    comp_text, sep, slot_text = target.rpartition("@")
    if not sep:
        raise PlannerError(f"expected COMPONENT@SLOT, e.g. prompts/extraction@staging, not {target!r}")
    try:
        ref = ComponentRef.parse(comp_text)
        slot = parse_slot(slot_text)
    except ModelError as exc:
        raise PlannerError(exc.message) from None
    if env is None:
        if isinstance(slot, Version):
            raise PlannerError(f"{target}: a version slot needs --env to choose the namespace")
        env = slot
    cfg = load_config(repo)
    env = _known(cfg, env, repo, None)
    targets = open_stores(cfg, [env])
    t = targets[env]
    keys = keys_for(t.layouts, ref.namespace, ref.name, str(slot))
    try:
        got = t.store.get_many(keys[:1])
    finally:
        close_stores(targets)
    if keys[0] not in got:
        raise KVError(f"{keys[0]} is not in {t.store.name}")
    sys.stdout.buffer.write(got[keys[0]].value)
    sys.stdout.flush()


@kv_app.command("ls")
def kv_ls(
    prefix: Annotated[str, typer.Argument(metavar="PREFIX", help="Only keys starting with this.")] = "",
    env: EnvOpt = None,
    fmt: FormatOpt = "text",
    repo: RepoDirOpt = Path("."),
) -> None:
    """List the keys of each environment's namespace."""
    cfg = load_config(repo)
    targets = open_stores(cfg, _envs(cfg, env, _remote_state(cfg, env, repo), repo=repo))
    try:
        listing = {e: t.store.list_keys(prefix) for e, t in targets.items()}
    finally:
        close_stores(targets)
    if fmt == "json":
        print(
            json.dumps(
                {"namespaces": [{"env": e, "store": targets[e].store.name, "keys": k} for e, k in listing.items()]},
                indent=2,
            )
        )
        return
    for e, keys in listing.items():
        print(f"# {e} ({targets[e].store.name}): {len(keys)} keys")
        for k in keys:
            print(k)


def _derive(
    components: list[str] | None, env: str | None, remote: str | None, repo: Path
) -> tuple[dict[str, NamespaceTarget], list[KeyStatus], list[DesiredKey], list[str]]:
    """Targets, key statuses, desired keys, and per-component problems (their keys are skipped)."""
    cfg = load_config(repo)
    state = snapshot(Repo(repo), Remote(remote or cfg.remote))
    targets = open_stores(cfg, _envs(cfg, env, state, repo=repo))
    try:
        desired, problems = derive_keys(repo, state, targets, select_components(state, components or []))
        return targets, compare(desired, targets), desired, problems
    except BaseException:
        close_stores(targets)
        raise


def _print_statuses(statuses: list[KeyStatus], fmt: str, problems: list[str], *, only_changes: bool = True) -> None:
    shown = [s for s in statuses if s.action != "ok" or not only_changes]
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    if fmt == "json":
        doc = {"keys": [s.to_dict() for s in shown], "in_sync": sum(s.action == "ok" for s in statuses)}
        print(json.dumps({**doc, "problems": problems}, indent=2))
        return
    for s in shown:
        old = s.old_sha256[:12] if s.old_sha256 else "(missing)"
        print(f"{s.action:8} {s.env:12} {s.key}  {old} -> {s.new_sha256[:12]}")
    sys.stdout.flush()  # the summary after the rows when both streams go to one place
    print(f"{len(shown)} key(s) differ, {len(statuses) - len(shown)} in sync", file=sys.stderr)


def _problems_error(problems: list[str], what: str) -> SyncError:
    return SyncError(f"{len(problems)} component/environment pair(s) {what} (see the warnings above)")


@kv_app.command("diff")
def kv_diff(
    components: ComponentsArg = None,
    env: EnvOpt = None,
    remote: RemoteOpt = None,
    fmt: FormatOpt = "text",
    repo: RepoOpt = Path("."),
) -> int:
    """Every key whose content differs from what the env tags say.

    Exit 2 if any differ, 1 if a component's keys could not be derived (the others are still
    compared).
    """
    targets, statuses, _, problems = _derive(components, env, remote, repo)
    close_stores(targets)
    _print_statuses(statuses, fmt, problems)
    if problems:
        raise _problems_error(problems, "could not be compared")
    return EXIT_CHANGES if any(s.action != "ok" for s in statuses) else 0


@app.command()
def sync(
    components: ComponentsArg = None,
    env: EnvOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    remote: RemoteOpt = None,
    fmt: FormatOpt = "text",
    repo: RepoOpt = Path("."),
) -> None:
    """Repair KV from the env tags on the remote.

    Shows what would change, then writes it in bulk. A component whose keys cannot be derived is
    a warning; every other component is still synced, and the command exits 1 at the end.
    """
    targets, statuses, desired, problems = _derive(components, env, remote, repo)
    try:
        _print_statuses(statuses, fmt, problems)
        if not dry_run and any(s.action != "ok" for s in statuses):
            n = write(desired, statuses, targets)
            print(f"wrote {n} key(s)", file=sys.stderr)
    finally:
        close_stores(targets)
    if problems:
        raise _problems_error(problems, "could not be checked" if dry_run else "were not synced")
