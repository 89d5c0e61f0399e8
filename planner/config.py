"""``planner.toml``: the project's settings. Missing file = defaults.

Sections owned by other modules (``[kv]``, ``[policy]``) are kept raw here and parsed by the
module that uses them, so this file stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.config_schema import CONFIG_FILE
from planner.errors import Diagnostic, DiagnosticError
from planner.model import ModelError, validate_env


@dataclass(frozen=True)
class PlannerConfig:
    """The settings of ``planner.toml`` (defaults when there is none)."""

    root: Path  # the repository the config belongs to
    remote: str = "origin"  # git remote name, URL or path
    environments: tuple[str, ...] | None = None  # promotion order; None: no config, infer
    kv: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    file: str | None = None  # path of the file read, for messages


def load_config(root: Path | str = ".") -> PlannerConfig:
    """Read ``planner.toml`` at the repository's top level, strictly: every key and table must be
    one the planner knows (``planner.config_schema``), each error at its own line and column."""
    root = Path(root)
    file = root / CONFIG_FILE
    if not file.exists():
        return PlannerConfig(root=root)
    from planner.config_schema import check, locate
    from planner.errors import DiagnosticSink
    from planner.fileio import loads_toml, read_text_file

    text = read_text_file(file, CONFIG_FILE)
    data = loads_toml(CONFIG_FILE, text)
    sink = DiagnosticSink()
    check(data, text, CONFIG_FILE, sink)
    if sink.has_errors:
        raise DiagnosticError(sink.items, {CONFIG_FILE: text})

    def fail(msg: str, *path: str | int) -> DiagnosticError:
        return DiagnosticError([Diagnostic("error", msg, locate(text, path, CONFIG_FILE))], {CONFIG_FILE: text})

    envs = data.get("environments")
    environments: tuple[str, ...] | None = None
    if envs is not None:
        if not all(isinstance(e, str) for e in envs):
            raise fail('\'environments\' must be a list of names, e.g. ["staging", "production"]', "environments")
        try:
            environments = tuple(validate_env(e) for e in envs)
        except ModelError as exc:
            raise fail(exc.message, "environments") from None
        if len(set(environments)) != len(environments):
            raise fail("'environments' lists a name twice", "environments")
    remote = data.get("remote", "origin")
    from planner.gitremote import remote_problem

    problem = remote_problem(remote) if remote else "'remote' must not be empty"
    if problem is not None:
        raise fail(f"'remote': {problem}", "remote")
    config = PlannerConfig(root, remote, environments, data.get("kv", {}), data.get("policy", {}), CONFIG_FILE)
    if config.kv:
        from planner.kv.bindings import parse_kv_config

        for env in ("*", *config.kv.get("env", {})):  # every environment's settings, before any is used
            parse_kv_config(config, env)
    return config


def check_known_env(
    env: str, config: PlannerConfig, remote_envs: Sequence[str], *, declared: Sequence[str] = ()
) -> str:
    """``--env`` must name an environment that exists: one planner.toml lists, else one with tags
    on the remote (or, in a plan, one it declares with ``create environment``). A typo is an error
    with did-you-mean, never an empty answer."""
    import difflib

    known = list(config.environments) if config.environments is not None else sorted(set(remote_envs))
    if env in known or env in declared:
        return env
    from planner.errors import PlannerError

    choices = [*known, *declared]
    hit = difflib.get_close_matches(env, choices, n=1, cutoff=0.6) or [k for k in choices if k.startswith(env)][:1]
    hint = f" (did you mean '{hit[0]}'?)" if hit else ""
    where = "planner.toml lists" if config.environments is not None else "environments with tags on the remote"
    listing = ", ".join(known) if known else "none"
    created = f"; created by this plan: {', '.join(declared)}" if declared else ""
    raise PlannerError(f"unknown environment '{env}'{hint}; {where}: {listing}{created}")
