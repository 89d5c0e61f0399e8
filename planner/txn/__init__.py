"""Apply as one transaction: journal, atomic push, KV projection, compensation, recovery, ledger."""

from planner.txn.context import AppliedTag
from planner.txn.engine import ApplyResult, apply_plan
from planner.txn.errors import ApplyFailedError, ConflictError, PartialApplyError, RequireIdError, StalePlanError
from planner.txn.ledger import LedgerEnvHistory, history
from planner.txn.recover import RecoverResult, recover

__all__ = [
    "AppliedTag",
    "ApplyFailedError",
    "ApplyResult",
    "ConflictError",
    "LedgerEnvHistory",
    "PartialApplyError",
    "RecoverResult",
    "RequireIdError",
    "StalePlanError",
    "apply_plan",
    "history",
    "recover",
]
