"""planner.toml is read strictly: every documented key misspelled in turn is an error at its own
line and column, with a did-you-mean; wrong types likewise; hostile values never reach git or disk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.cli import run
from planner.config import load_config
from planner.config_schema import SCHEMA
from planner.errors import DiagnosticError

# Every key the schema knows, each on its own line (the documented full configuration).
FULL = """\
remote = "origin"
environments = ["dev", "staging", "production"]

[kv]
store = "sqlite"
path = ".planner/kv.sqlite"
layouts = ["{type}/{name}@{slot}"]
binding = "COMPONENTS_KV"
wrangler = "wrangler.toml"
wrangler_env = "production"
preview = false
namespace = "main"

[kv.env.production]
store = "sqlite"
path = ".planner/prod.sqlite"
layouts = ["{type}/{name}@{slot}"]
binding = "COMPONENTS_KV"
wrangler = "wrangler.toml"
wrangler_env = "production"
preview = false
namespace = "prod"

[policy]
order = ["dev", "staging", "production"]
promotion_order = true
protected = ["production"]

[[policy.freeze]]
env = "production"
from = "2026-12-24T00:00"
to = "2026-12-27T00:00"
tz = "UTC"
reason = "holidays"
"""

KEY_LINES = [(n, line) for n, line in enumerate(FULL.splitlines(), 1) if re.match(r"^[a-z_]+ =", line)]
TABLE_LINES = [(n, line) for n, line in enumerate(FULL.splitlines(), 1) if line.startswith("[")]


def write(root: Path, text: str) -> Path:
    (root / "planner.toml").write_text(text, encoding="utf-8")
    return root


def errors(root: Path) -> list[tuple[int, int, str]]:
    with pytest.raises(DiagnosticError) as info:
        load_config(root)
    return [(d.span.line, d.span.column, d.message) for d in info.value.diagnostics if d.span]


def misspell(word: str) -> str:
    return word[0] + word[2] + word[1] + word[3:] if len(word) > 3 else word + "x"


def test_the_full_configuration_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.environments == ("dev", "staging", "production")
    assert config.policy["protected"] == ["production"]
    assert config.kv["env"]["production"]["namespace"] == "prod"
    # every key of the schema is in FULL, so the misspelling tests below cover them all
    for key in SCHEMA:
        assert f"{key} =" in FULL or f"[{key}" in FULL


@pytest.mark.parametrize(("line_no", "line"), KEY_LINES, ids=[f"{n}:{ln.split()[0]}" for n, ln in KEY_LINES])
def test_each_key_misspelled_is_an_error_at_its_line(tmp_path: Path, line_no: int, line: str) -> None:
    key = line.split()[0]
    bad = misspell(key)
    lines = FULL.splitlines()
    lines[line_no - 1] = line.replace(key, bad, 1)
    got = errors(write(tmp_path, "\n".join(lines) + "\n"))
    assert len(got) == 1, got
    (ln, col, message) = got[0]
    assert (ln, col) == (line_no, 1)
    assert f"unknown key {bad!r}" in message and f"did you mean {key!r}" in message


@pytest.mark.parametrize(("line_no", "line"), TABLE_LINES, ids=[ln for _, ln in TABLE_LINES])
def test_each_table_misspelled_is_an_error_at_its_header(tmp_path: Path, line_no: int, line: str) -> None:
    name = line.strip("[]").split(".")[-1]
    bad_line = line.replace(name, misspell(name), 1) if name != "production" else line.replace("env", "enw", 1)
    lines = FULL.splitlines()
    lines[line_no - 1] = bad_line
    got = errors(write(tmp_path, "\n".join(lines) + "\n"))
    assert got and got[0][0] == line_no and got[0][1] >= 2, got
    assert "unknown table" in got[0][2] and "did you mean" in got[0][2]


def test_wrong_types_are_positioned(tmp_path: Path) -> None:
    text = 'remote = 42\n[policy]\nprotected = "production"\npromotion_order = "yes"\n[kv]\npreview = 1\n'
    got = errors(write(tmp_path, text))
    assert got == [
        (1, 1, "'remote' must be a string"),
        (3, 1, "'policy.protected' must be a list"),
        (4, 1, "'policy.promotion_order' must be true or false"),
        (6, 1, "'kv.preview' must be true or false"),
    ]


def test_dotted_keys_and_quoted_keys_are_located(tmp_path: Path) -> None:
    got = errors(write(tmp_path, 'remote = "origin"\npolcy.protected = ["production"]\n'))
    assert got[0][:2] == (2, 1) and "unknown table [polcy]" in got[0][2]
    got = errors(write(tmp_path, '[kv]\n"paht" = "x"\n'))
    assert got[0][:2] == (2, 1) and "unknown key 'paht' in [kv]" in got[0][2]


def test_a_typo_is_reported_by_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.gitrepo import EdgitRepo

    repo = EdgitRepo.create(tmp_path)
    write(repo.work, '[polcy]\nprotected = ["production"]\n')
    for argv in (["status"], ["history"], ["kv", "ls", "--env", "staging"], ["validate"], ["check", "x.plan"]):
        assert run([*argv, "--repo", str(repo.work)]) == 1, argv
        err = capsys.readouterr().err
        assert "planner.toml:1:2: error: unknown table [polcy] (did you mean 'policy'?)" in err, (argv, err)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('remote = "ssh://-oProxyCommand=touch${IFS}/tmp/pwned/x"', "its host starts with '-'"),
        ('remote = "git@-oProxyCommand=x:repo"', "its host starts with '-'"),
        ('remote = "ext::sh -c touch% /tmp/pwned"', "transport helper"),
        ('[kv]\nlayouts = ["{type}/{name}@{slot}$(id)"]', "unknown key layout"),
    ],
)
def test_hostile_values_are_refused_at_load(tmp_path: Path, text: str, message: str) -> None:
    got = errors(write(tmp_path, text + "\n"))
    assert got and message in got[0][2], got
