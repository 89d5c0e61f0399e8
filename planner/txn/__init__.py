"""Apply as one transaction: journal, atomic push, KV projection, compensation, recovery, ledger.

The public names load on first use (PEP 562): importing one submodule (``planner.txn.ledger``,
which reading a snapshot needs) must not import the whole engine, which imports the snapshot.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AppliedTag": "context",
    "ApplyResult": "engine",
    "apply_plan": "engine",
    "ApplyFailedError": "errors",
    "ConflictError": "errors",
    "PartialApplyError": "errors",
    "RequireIdError": "errors",
    "StalePlanError": "errors",
    "LedgerEnvHistory": "ledger",
    "history": "ledger",
    "RecoverResult": "recover",
    "recover": "recover",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'planner.txn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"planner.txn.{module}"), name)
