"""The faster paths of issues 2 and 3 give exactly what the plain paths give."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from planner.gitio import GitError, Opt, collect, run_git, start_git
from planner.gitremote import parse_ls_remote
from planner.lang.build import build
from planner.lang.parser import parse, parse_plan
from tests.fixtures_lang import assert_same_syntax_error

PLANS = sorted((Path(__file__).resolve().parents[1] / "plans").glob("*.plan"))


def _plain_parse_ls_remote(text: str) -> dict[str, tuple[str, str]]:
    # The line-by-line reading parse_ls_remote replaced.
    direct: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in text.split("\n"):
        oid, _, ref = line.partition("\t")
        if not ref:
            continue
        if ref.endswith("^{}"):
            peeled[ref[:-3]] = oid
        else:
            direct[ref] = oid
    return {ref: (oid, peeled.get(ref, oid)) for ref, oid in direct.items()}


A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"{A}\trefs/tags/components/prompts/x/v1.0.0\n{B}\trefs/tags/components/prompts/x/v1.0.0^{{}}\n",
        f"{A}\trefs/tags/components/prompts/x/v1.0.0\n{B}\trefs/tags/components/prompts/x/v1.0.0^{{}}",  # no final \n
        f"{A}\trefs/planner/ledger\n{B}\trefs/tags/x\n{C}\trefs/tags/x^{{}}\n{A}\trefs/tags/y\n",
        f"{B}\trefs/tags/x^{{}}\n{A}\trefs/tags/x\n",  # a peeled line before its ref (git never does this)
        f"{A}\trefs/tags/x\n{B}\trefs/tags/other^{{}}\n",  # a peeled line of another ref
        f"{A}\trefs/tags/components/prompts/-x/staging\n{A}\trefs/tags/with space\n",
    ],
)
def test_parse_ls_remote_matches_the_line_reader(text: str) -> None:
    assert parse_ls_remote(text) == _plain_parse_ls_remote(text)


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_parse_plan_equals_build_of_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_plan(text, str(path)) == build(parse(text, str(path)), str(path))


@pytest.mark.parametrize(
    "text",
    ['plan "p" { promote a v1.0.0 staging }', 'plan "p" {', "plan p", 'plan "p" { deploy a }', 'plan "p" { % }'],
)
def test_parse_plan_syntax_errors_are_the_plain_parsers(text: str) -> None:
    assert_same_syntax_error(text)


def test_parse_plan_uses_each_calls_file_name() -> None:
    text = 'plan "p" { promote a v1.0.0 to staging }\n'
    assert parse_plan(text, "one.plan").span.file == "one.plan"
    assert parse_plan(text, "two.plan").statements[0].span.file == "two.plan"


def test_started_git_is_collected_in_order_and_checked(tmp_path: Path) -> None:
    def start() -> list[subprocess.Popen[bytes]]:
        return [start_git([Opt("--version")], cwd=tmp_path), start_git(["rev-parse", "HEAD"], cwd=tmp_path)]

    ok, bad = collect(start(), [True, False])
    assert ok.returncode == 0 and ok.stdout.startswith(b"git version")
    assert bad.returncode != 0  # not a repository, but check=False
    with pytest.raises(GitError, match=r"git rev-parse failed \(exit \d+\)"):
        collect(start(), [True, True])
    with pytest.raises(GitError, match="would be read as an option"):
        run_git(["ls-remote", "--upload-pack=x"], cwd=tmp_path)
