"""The question before an unreviewed apply (``apply PLAN``, ``promote``), as Terraform asks it.

The dry run is already on screen; only the literal answer ``yes`` goes on. Without a terminal on
stdin there is nobody to ask: the command refuses (a CI job must say ``--auto-approve``, or
better, apply the reviewed artifact with ``apply --plan FILE``). A plan that changes nothing is
not asked about: applying it changes nothing.
"""

from __future__ import annotations

import sys

from planner.errors import EXIT_NOT_CONFIRMED, PlannerError
from planner.plan.changes import ComputedPlan


class NotConfirmed(PlannerError):
    exit_code = EXIT_NOT_CONFIRMED


def confirm_apply(plan: ComputedPlan, *, auto_approve: bool) -> None:
    """Return when the apply may go on; raise NotConfirmed (exit 8, nothing changed) otherwise."""
    if auto_approve or not plan.has_changes:
        return
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "nothing applied: stdin is not a terminal to confirm on; pass --auto-approve to apply without asking"
        )
    sys.stdout.flush()
    sys.stderr.write(
        # the plan's name and id, not the remote: a remote URL may carry a token
        f"\nApply plan {plan.name!r} (plan {plan.plan_id[:12]})?\n"
        "  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    )
    sys.stderr.flush()
    answer = sys.stdin.readline()  # "" at end of input (Ctrl-D)
    if not answer:
        sys.stderr.write("\n")
    if answer.strip() != "yes":
        raise NotConfirmed("apply cancelled: nothing was changed")
