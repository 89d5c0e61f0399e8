"""After an apply the checkout's tags agree with the remote: no later command warns that they are
stale, and an edgit-style ``git push --tags --force`` from the same checkout cannot revert the
release (issue 13 point 6, issue 17 point 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import git
from tests.txn_fixture import EXT, TxnFixture, build

PLANS = [
    'plan "r1" {\n  promote prompts/extraction v1.1.0 to staging\n  promote agents/analyzer v2.0.0 to staging\n}\n',
    'plan "r2" {\n  create prompts/extraction v1.2.0 at main\n  promote prompts/extraction v1.2.0 to production\n}\n',
    'plan "r3" {\n  rollback prompts/extraction in staging to v1.0.0\n  promote agents/analyzer v1.0.0 to staging\n}\n',
]


@pytest.fixture
def fx(tmp_path: Path) -> TxnFixture:
    return build(tmp_path)


def local_tags(work: Path) -> dict[str, str]:
    out = git(work, "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags/")
    return {ref: oid for oid, ref in (line.split() for line in out.splitlines())}


def remote_tags(fx: TxnFixture) -> dict[str, str]:
    return {r: o for r, o in fx.repo.remote_refs().items() if r.startswith("refs/tags/")}


def apply(fx: TxnFixture, text: str, name: str) -> None:
    (fx.work / "plans").mkdir(exist_ok=True)
    (fx.work / "plans" / f"{name}.plan").write_text(text, encoding="utf-8")
    res = fx.cli("apply", str(fx.work / "plans" / f"{name}.plan"), "--auto-approve")
    assert res.returncode == 0, res.stderr


def test_local_tags_match_the_remote_after_apply_and_nothing_is_stale(fx: TxnFixture) -> None:
    apply(fx, PLANS[0], "r1")
    assert local_tags(fx.work) == remote_tags(fx)
    status = fx.cli("status")
    assert status.returncode == 0 and "stale" not in status.stderr, status.stderr


def test_edgit_force_push_from_the_same_checkout_loses_no_release(fx: TxnFixture) -> None:
    """Rounds of: the planner applies; someone runs edgit's `tag set` + `push --tags --force` on
    another component from this checkout. Every applied env tag survives every round."""
    expected: dict[str, str] = {}
    for round_no, text in enumerate(PLANS):
        apply(fx, text, f"r{round_no}")
        expected.update({r: o for r, o in remote_tags(fx).items() if r.endswith(("/staging", "/production"))})
        # edgit: `edgit tag set summary staging v1.0.0` then `edgit push --tags --force`
        ref = f"components/prompts/summary/staging-{round_no}"
        git(
            fx.work,
            "tag",
            "-a",
            "-f",
            "-m",
            f"Set summary to staging-{round_no}",
            ref,
            "components/prompts/summary/v1.0.0",
        )
        git(fx.work, "push", "-q", "--tags", "--force", "origin")
        now = remote_tags(fx)
        for env_ref, oid in expected.items():
            assert now[env_ref] == oid, f"round {round_no}: {env_ref} was reverted by the force push"
    assert fx.peeled(f"refs/tags/{EXT}/production") == git(fx.work, "rev-parse", "main")


def test_status_warns_when_a_force_push_reverted_a_recorded_release(fx: TxnFixture) -> None:
    stale = fx.work.parent / "stale"
    git(fx.work.parent, "clone", "-q", str(fx.repo.remote), str(stale))
    git(stale, "fetch", "-q", "--tags", "origin")  # edgit's checkout, before the planner's apply
    apply(fx, PLANS[0], "r1")
    quiet = fx.cli("status")
    assert quiet.returncode == 0 and "reverted" not in quiet.stderr
    git(stale, "push", "-q", "--tags", "--force", "origin")  # edgit push --tags --force: old targets back
    res = fx.cli("status")
    assert res.returncode == 0
    assert (
        "warning: prompts/extraction in staging is back at v1.0.0, where it was before apply " in res.stderr
        and "(r1) set it to v1.1.0: a release was reverted outside the planner" in res.stderr
    ), res.stderr
    # A later edgit promotion to something new is not a revert: no warning for that ref.
    git(stale, "tag", "-a", "-f", "-m", "Set extraction to staging", f"{EXT}/staging", f"{EXT}/v1.1.0")
    git(stale, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/staging")
    assert "prompts/extraction in staging is back" not in fx.cli("status").stderr
