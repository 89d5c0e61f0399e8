"""Errors of apply: each carries the CLI exit code of DESIGN.md section 6."""

from __future__ import annotations

from collections.abc import Mapping

from planner.errors import EXIT_CONFLICT, EXIT_NOT_APPROVED, EXIT_PARTIAL, EXIT_STALE, PlannerError


def _short(oid: str | None) -> str:
    return "absent" if oid is None else oid[:12]


class StalePlanError(PlannerError):
    """The saved plan's expected old values no longer hold (exit 4). Nothing was changed."""

    exit_code = EXIT_STALE

    def __init__(self, message: str, moved: Mapping[str, str]) -> None:
        super().__init__(message)
        self.moved = dict(moved)  # target -> description of what it is now


class ConflictError(PlannerError):
    """The atomic push was rejected: someone else moved a ref (exit 5). Nothing was changed."""

    exit_code = EXIT_CONFLICT

    def __init__(self, message: str, refs: Mapping[str, str | None]) -> None:
        super().__init__(message)
        self.refs = dict(refs)  # ref -> what the remote had (None: absent)

    @classmethod
    def for_refs(cls, moved: Mapping[str, str | None], expected: Mapping[str, str | None]) -> ConflictError:
        lines = []
        for ref in sorted(moved):
            now = moved[ref]
            exp = f" (expected {_short(expected[ref])})" if ref in expected else ""
            lines.append(f"  {ref}: now {now if now and len(now) != 40 else _short(now)}{exp}")
        msg = f"conflict: someone else moved {len(moved)} ref(s) since the plan was read; nothing was changed\n"
        return cls(msg + "\n".join(lines), moved)


class PartialApplyError(PlannerError):
    """Applied in part and not compensated (exit 6): run `planner recover`."""

    exit_code = EXIT_PARTIAL


class ApplyFailedError(PlannerError):
    """A step after the commit point failed and everything was undone (exit 1)."""


class RequireIdError(PlannerError):
    """The plan's id is not the one required by --require-id (exit 7: not the approved plan)."""

    exit_code = EXIT_NOT_APPROVED


class LockedError(PlannerError):
    """Another apply holds the lock of this checkout."""


class RemoteMismatchError(PlannerError):
    """A saved plan was computed against another remote than the one apply would push to (exit 1)."""
