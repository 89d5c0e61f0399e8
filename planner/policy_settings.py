"""``[policy]`` of planner.toml -> PolicySettings (errors at the planner.toml line), and the clock.

The I/O at the edges of ``planner.policy``, whose rules are pure functions of these settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from planner.config import PlannerConfig
from planner.config_schema import CONFIG_FILE
from planner.errors import Diagnostic, DiagnosticError, PlannerError, Span, source_lines
from planner.model import ModelError, validate_env

NOW_ENV = "PLANNER_NOW"  # test hook: an ISO 8601 time used instead of the clock


@dataclass(frozen=True)
class Freeze:
    env: str
    start: datetime  # aware
    end: datetime  # aware, exclusive
    tz: str
    reason: str = ""

    def covers(self, now: datetime) -> bool:
        return self.start <= now < self.end


@dataclass(frozen=True)
class PolicySettings:
    order: tuple[str, ...] | None = None
    protected: frozenset[str] = frozenset()
    freezes: tuple[Freeze, ...] = ()


def _fail(config: PlannerConfig, message: str, needle: str) -> DiagnosticError:
    file = config.root / CONFIG_FILE
    text = file.read_text(encoding="utf-8") if file.exists() else ""
    line, col = 1, 1
    for n in (needle, "[policy"):
        hit = next(((i, s.find(n)) for i, s in enumerate(source_lines(text), 1) if n and n in s), None)
        if hit is not None:
            line, col = hit[0], hit[1] + 1
            break
    return DiagnosticError([Diagnostic("error", message, Span(CONFIG_FILE, line, col))], {CONFIG_FILE: text})


def _env_list(config: PlannerConfig, value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise _fail(config, f"[policy] '{key}' must be a list of environment names", key)
    try:
        return tuple(validate_env(e) for e in value)
    except ModelError as exc:
        raise _fail(config, f"[policy] '{key}': {exc.message}", key) from None


def _local_time(config: PlannerConfig, text: Any, zone: tzinfo, key: str) -> datetime:
    if not isinstance(text, str):
        raise _fail(config, f"[[policy.freeze]] '{key}' must be a time like \"2026-12-24T00:00\"", key)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(config, f"[[policy.freeze]] '{key}' = {text!r} is not a time like 2026-12-24T00:00", text) from None
    if t.tzinfo is not None:
        raise _fail(config, f"[[policy.freeze]] '{key}' = {text!r} carries an offset; give local time and 'tz'", text)
    return t.replace(tzinfo=zone)


_POLICY_KEYS = {"order", "promotion_order", "protected", "freeze"}
_FREEZE_KEYS = {"env", "from", "to", "tz", "reason"}


def load_settings(config: PlannerConfig) -> PolicySettings:
    """Parse ``[policy]``; errors point at the planner.toml line."""
    raw = config.policy
    unknown = sorted(set(raw) - _POLICY_KEYS)
    if unknown:
        raise _fail(
            config, f"[policy] unknown key {unknown[0]!r} (known: {', '.join(sorted(_POLICY_KEYS))})", unknown[0]
        )
    order = _env_list(config, raw["order"], "order") if "order" in raw else config.environments
    enabled = raw.get("promotion_order", True)
    if not isinstance(enabled, bool):
        raise _fail(config, "[policy] 'promotion_order' must be true or false", "promotion_order")
    prot = frozenset(_env_list(config, raw.get("protected", []), "protected"))
    freezes_raw = raw.get("freeze", [])
    if not isinstance(freezes_raw, list) or not all(isinstance(f, dict) for f in freezes_raw):
        raise _fail(config, "[policy] 'freeze' must be an array of tables: [[policy.freeze]]", "freeze")
    freezes = []
    for f in freezes_raw:
        bad = sorted(set(f) - _FREEZE_KEYS) or sorted({"env", "from", "to"} - set(f))
        if bad:
            raise _fail(config, f"[[policy.freeze]] needs env, from, to (and tz, reason); not {bad[0]!r}", "freeze")
        env = _env_list(config, [f["env"]], "env")[0] if isinstance(f["env"], str) else None
        if env is None:
            raise _fail(config, "[[policy.freeze]] 'env' must be an environment name", "env")
        tz_name = f.get("tz", "UTC")
        try:
            zone = ZoneInfo(str(tz_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail(config, f"[[policy.freeze]] unknown time zone {tz_name!r}", str(tz_name)) from None
        start = _local_time(config, f["from"], zone, "from")
        end = _local_time(config, f["to"], zone, "to")
        if end <= start:
            raise _fail(config, f"[[policy.freeze]] for {env}: 'to' must be after 'from'", str(f["to"]))
        freezes.append(Freeze(env, start, end, str(tz_name), str(f.get("reason", ""))))
    return PolicySettings(order if enabled else None, prot, tuple(freezes))


def now(environ: Mapping[str, str] | None = None) -> datetime:
    """The current time; ``PLANNER_NOW`` (ISO 8601, e.g. 2026-12-25T10:00:00Z) overrides it (test hook)."""
    env = os.environ if environ is None else environ
    text = env.get(NOW_ENV)
    if not text:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise PlannerError(f"{NOW_ENV}={text!r} is not an ISO 8601 time like 2026-12-25T10:00:00Z") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
