"""``planner.toml``: the project's settings. Missing file = defaults.

Sections owned by other modules (``[kv]``, ``[policy]``) are kept raw here and parsed by the
module that uses them, so this file stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import Diagnostic, DiagnosticError, Span
from planner.model import ModelError, validate_env

CONFIG_FILE = "planner.toml"


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
    root = Path(root)
    file = root / CONFIG_FILE
    if not file.exists():
        return PlannerConfig(root=root)
    from planner.fileio import loads_toml, read_text_file

    text = read_text_file(file, CONFIG_FILE)
    data = loads_toml(CONFIG_FILE, text)

    def fail(msg: str) -> DiagnosticError:
        return DiagnosticError([Diagnostic("error", msg, Span(CONFIG_FILE, 1, 1))], {CONFIG_FILE: text})

    envs = data.get("environments")
    environments: tuple[str, ...] | None = None
    if envs is not None:
        if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
            raise fail('\'environments\' must be a list of names, e.g. ["staging", "production"]')
        try:
            environments = tuple(validate_env(e) for e in envs)
        except ModelError as exc:
            raise fail(exc.message) from None
        if len(set(environments)) != len(environments):
            raise fail("'environments' lists a name twice")
    remote = data.get("remote", "origin")
    if not isinstance(remote, str) or not remote or remote.startswith("-"):
        raise fail("'remote' must be a remote name, URL or path (not starting with '-')")
    from planner.gitio import GitError, check_remote

    try:
        check_remote(remote)
    except GitError as exc:
        raise fail(f"'remote': {exc.message}") from None
    kv = data.get("kv", {})
    policy = data.get("policy", {})
    if not isinstance(kv, dict) or not isinstance(policy, dict):
        raise fail("'kv' and 'policy' must be tables")
    return PlannerConfig(root, remote, environments, kv, policy, CONFIG_FILE)
