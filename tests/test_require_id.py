"""--require-id: any prefix of at least 12 hex digits of the plan id; another plan is "not the
approved plan" (exit 7, nothing changed), distinct from a stale plan (exit 4)."""

from __future__ import annotations

import pytest

from planner.artifact import match_require_id
from planner.errors import EXIT_NOT_APPROVED, EXIT_STALE, PlannerError
from tests.test_policy import Planner, fx  # noqa: F401  (the fixture)
from tests.txn_fixture import TxnFixture


@pytest.fixture
def pl(fx: TxnFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Planner:  # noqa: F811
    return Planner(fx, capsys, monkeypatch)


def test_prefix_of_12_digits_applies(pl: Planner) -> None:
    pl.config("")
    saved, pid = pl.saved(pl.plan_file("stg", "  promote prompts/extraction v1.1.0 to staging\n"))
    code, out, err = pl("plan", "plans/stg.plan")
    assert f"id {pid[:12]}\n" in out and pid[:13] not in out  # one length in human output
    code, _, err = pl("apply", "--plan", saved, "--require-id", pid[:12].upper())
    assert code == 0, err
    assert f"plan {pid[:12]}," in err and pid[:13] not in err


def test_another_plan_is_not_approved_exit_7(pl: Planner) -> None:
    pl.config("")
    saved, pid = pl.saved(pl.plan_file("stg", "  promote prompts/extraction v1.1.0 to staging\n"))
    other = ("0" if pid[0] != "0" else "1") + pid[1:12]
    before = pl.fx.snapshot()
    code, _, err = pl("apply", "--plan", saved, "--require-id", other)
    assert code == EXIT_NOT_APPROVED == 7 and EXIT_STALE == 4
    assert f"plan {pid[:12]} is not the approved plan: --require-id {other} names another plan" in err
    assert pid[:13] not in err and "stale" not in err
    assert pl.fx.snapshot() == before


def test_short_or_non_hex_ids_are_refused() -> None:
    pid = "ab" * 32
    assert match_require_id(pid, pid) == pid and match_require_id(pid, pid[:12]) == pid
    for bad in ("abababababa", "zz" * 6, pid + "a", ""):
        with pytest.raises(PlannerError) as e:
            match_require_id(pid, bad)
        assert e.value.exit_code == 1 and "12 to 64 hex digits" in str(e.value)
