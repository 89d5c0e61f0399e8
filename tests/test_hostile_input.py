"""Hostile input at every file and option boundary: a clear error naming the file, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner import __version__
from planner.cli import run
from planner.config import load_config
from planner.errors import DiagnosticError, PlannerError
from planner.fileio import loads_json, read_text_file, write_text_file
from planner.gitio import GitError, check_remote, git_text
from planner.kv.bindings import read_wrangler
from planner.kv.sqlite import SqliteKV
from planner.refs import scan_yaml
from planner.registry import REGISTRY_PATH, add_component, load_registry
from tests.gitrepo import EdgitRepo

DEEP_JSON = "[" * 100_000 + "]" * 100_000
# 9 levels of 9 aliases each: 9**9 (~387 million) scalars if expanded.
LAUGHS = "a0: &a0 prompts/extraction@v1\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def _err(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = run(argv)
    cap = capsys.readouterr()
    err = cap.err + cap.out  # `check` prints its diagnostics on stdout
    assert code != 0, err
    assert "Traceback" not in err
    return err


# ---- 1. YAML aliases ------------------------------------------------------------------------------


def test_recursive_yaml_alias_is_walked_once(edgit_repo: EdgitRepo) -> None:
    edgit_repo.register("loop", "agent-definition", "agents/loop.yaml", "a: &a [*a, prompts/loop@v1]\n")
    reg = load_registry(edgit_repo.work)  # used to raise RecursionError
    refs = reg.yaml_refs[next(iter(reg.components))]
    assert [str(r.ref) for r in refs] == ["prompts/loop"]


def test_billion_laughs_yaml_is_linear(edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.monotonic()
    refs = scan_yaml("x.yaml", LAUGHS)
    assert time.monotonic() - t0 < 5  # used to hang for minutes
    assert len(refs) == 1 and str(refs[0].ref) == "prompts/extraction"
    edgit_repo.register("laughs", "agent-definition", "agents/laughs.yaml", LAUGHS)
    assert run(["components", "list", "--repo", str(edgit_repo.work)]) == 0
    assert "agents/laughs" in capsys.readouterr().out


def test_deeply_nested_yaml_is_an_error() -> None:
    with pytest.raises(DiagnosticError, match="nested too deeply"):
        scan_yaml("x.yaml", "[" * 100_000 + "]" * 100_000)


# ---- 2. unreadable files ------------------------------------------------------------------------


def test_read_text_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "bad").write_bytes(b"ok\nx\xff\xfe")
    (tmp_path / "f").write_text("x")
    with pytest.raises(PlannerError, match=r"cannot read shown: is a directory"):
        read_text_file(tmp_path / "d", "shown")
    with pytest.raises(PlannerError, match=r"cannot read .*missing: no such file"):
        read_text_file(tmp_path / "missing")
    with pytest.raises(PlannerError, match=r"a parent of it is not a directory"):
        read_text_file(tmp_path / "f" / "x")
    with pytest.raises(DiagnosticError) as exc:
        read_text_file(tmp_path / "bad", "bad.txt")
    d = exc.value.diagnostics[0]
    assert "byte 0xff at byte offset 4 (line 2)" in d.message
    assert d.span is not None and (d.span.file, d.span.line, d.span.column) == ("bad.txt", 2, 2)
    (tmp_path / "bom").write_bytes(b"\xef\xbb\xbfhello")
    assert read_text_file(tmp_path / "bom") == "hello"


def test_config_not_utf8_or_directory(tmp_path: Path) -> None:
    (tmp_path / "planner.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(DiagnosticError, match="not UTF-8") as exc:
        load_config(tmp_path)
    assert exc.value.diagnostics[0].span is not None and exc.value.diagnostics[0].span.file == "planner.toml"
    (tmp_path / "planner.toml").unlink()
    (tmp_path / "planner.toml").mkdir()
    with pytest.raises(PlannerError, match=r"cannot read planner.toml: is a directory"):
        load_config(tmp_path)


def test_config_deep_toml(tmp_path: Path) -> None:
    (tmp_path / "planner.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(DiagnosticError, match="nested too deeply"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe", "not UTF-8"), (DEEP_JSON.encode(), "nested too deeply"), (None, "is a directory")],
)
def test_components_json_bad(
    edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    file = edgit_repo.work / REGISTRY_PATH
    file.unlink()
    if content is None:
        file.mkdir()
    else:
        file.write_bytes(content)
    err = _err(capsys, ["components", "list", "--repo", str(edgit_repo.work)])
    assert message in err and ".edgit/components.json" in err
    assert len(err) < 2000  # a 200 kB line is not echoed under the diagnostic


def test_component_files_not_utf8(edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    edgit_repo.register("agent", "agent-definition", "agents/a.yaml", b"name: \xff\n")
    err = _err(capsys, ["components", "list", "--repo", str(edgit_repo.work)])
    assert "agents/a.yaml:1:7: error: not UTF-8 text: byte 0xff" in err
    (edgit_repo.work / "agents/a.yaml").write_text("k: v\n")
    edgit_repo.write("m/component.yaml", b"name: \xfe\n")
    err = _err(capsys, ["components", "list", "--repo", str(edgit_repo.work)])
    assert "m/component.yaml:1:7: error: not UTF-8 text: byte 0xfe" in err


def test_wrangler_bad(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_bytes(b"name = '\xff'")
    with pytest.raises(DiagnosticError, match="not UTF-8"):
        read_wrangler(tmp_path / "wrangler.toml")
    (tmp_path / "wrangler.jsonc").write_text("// c\n" + DEEP_JSON)
    with pytest.raises(DiagnosticError, match="nested too deeply"):
        read_wrangler(tmp_path / "wrangler.jsonc")
    (tmp_path / "wrangler.json").mkdir()
    with pytest.raises(PlannerError, match=r"wrangler.json: is a directory"):
        read_wrangler(tmp_path / "wrangler.json")


def test_loads_json_positions() -> None:
    with pytest.raises(DiagnosticError) as exc:
        loads_json("f.json", '{\n  "a": }')
    span = exc.value.diagnostics[0].span
    assert span is not None and (span.line, span.column) == (2, 8)


# ---- 3. --repo ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["check", "x.plan"],
        ["plan", "x.plan"],
        ["graph", "x.plan"],
        ["apply", "x.plan"],
        ["promote", "prompts/x", "v1.0.0", "staging"],
        ["recover"],
        ["history"],
        ["revert", "abc", "-o", "out.plan"],
        ["rollback", "prompts/x", "staging"],
        ["sync"],
        ["kv", "diff"],
        ["validate"],
    ],
)
def test_repo_is_a_file(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    err = _err(capsys, [*argv, "--repo", str(f)])
    assert f"{f} is not a git repository" in err


def test_repo_missing_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = tmp_path / "gone"
    for argv in (["kv", "ls", "--env", "staging"], ["kv", "get", "prompts/x@staging"], ["components", "list"]):
        err = _err(capsys, [*argv, "--repo", str(gone)])
        assert f"{gone} is not a git repository" in err
    err = _err(capsys, ["status", "--repo", str(tmp_path)])
    assert f"{tmp_path} is not inside a git repository" in err
    assert not gone.exists()


def test_sqlite_reads_do_not_create(tmp_path: Path) -> None:
    db = tmp_path / "state" / "kv.sqlite"
    kv = SqliteKV(db, "staging")
    assert kv.get_many(["a"]) == {} and kv.list_keys() == []
    kv.delete_many(["a"])
    assert not db.exists() and not db.parent.exists()
    from planner.kv.base import KVEntry

    kv.put_many([KVEntry("a", b"1", {})])
    assert db.exists() and kv.list_keys() == ["a"]


def test_demo_keep_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert "is not a directory" in _err(capsys, ["demo", "--keep", str(f)])
    assert "cannot create the directory" in _err(capsys, ["demo", "--keep", str(f / "sub")])


# ---- 4. output files -------------------------------------------------------------------------------


def test_write_text_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PlannerError, match=re.escape(f"cannot write {tmp_path}: is a directory")):
        write_text_file(tmp_path, "x")
    with pytest.raises(PlannerError, match=r"cannot write .*: no such file"):
        write_text_file(tmp_path / "no" / "x", "x")
    write_text_file(tmp_path / "no" / "x", "x", parents=True)
    assert (tmp_path / "no" / "x").read_text() == "x"


# ---- 5. components add ----------------------------------------------------------------------------


def test_components_add_refuses_directory(edgit_repo: EdgitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    edgit_repo.write("prompts/a.md", "hi")
    before = (edgit_repo.work / REGISTRY_PATH).read_bytes()
    monkeypatch.chdir(edgit_repo.work)
    with pytest.raises(PlannerError, match="is a directory"):
        add_component(edgit_repo.work, "prompts", type_="prompt")
    with pytest.raises(PlannerError, match="outside the repository"):
        add_component(edgit_repo.work, "/etc/hostname", type_="prompt")
    assert (edgit_repo.work / REGISTRY_PATH).read_bytes() == before


# ---- 6. plan files ----------------------------------------------------------------------------------


def test_plan_bom_and_non_utf8(edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "x")
    edgit_repo.push()
    repo = str(edgit_repo.work)
    (edgit_repo.work / "bom.plan").write_bytes(b'\xef\xbb\xbfplan "x" {\n}\n')
    assert run(["check", f"{repo}/bom.plan", "--repo", repo]) == 0, capsys.readouterr().out
    (edgit_repo.work / "bad.plan").write_bytes(b'plan "x" {\n  # \xff\n}\n')
    for argv in (["check"], ["plan"]):
        err = _err(capsys, [*argv, f"{repo}/bad.plan", "--repo", repo])
        assert "bad.plan:2:5: error: not UTF-8 text: byte 0xff at byte offset 15 (line 2)" in err


# ---- 7. remotes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("remote", ["fd::3", "ext::sh -c touch% /tmp/pwned", "foo://host/x", "-u"])
def test_transport_helpers_refused(remote: str, edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(GitError):
        check_remote(remote)
    t0 = time.monotonic()
    err = _err(capsys, ["status", "--remote", remote, "--repo", str(edgit_repo.work)])
    assert "not supported" in err or "not valid" in err or "--remote" in err
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize(
    "remote", ["origin", "/srv/x.git", "../x", "file:///x", "git://h/x", "ssh://h/x", "https://h/x", "me@host:x.git"]
)
def test_normal_remotes_allowed(remote: str) -> None:
    assert check_remote(remote) == remote


def test_git_refuses_helpers_itself(tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"unsupported|not allowed|transport"):
        git_text(["ls-remote", "ext::sh -c true"], cwd=tmp_path, timeout=20)


def test_config_remote_helper_refused(tmp_path: Path) -> None:
    (tmp_path / "planner.toml").write_text('remote = "fd::3"\n')
    with pytest.raises(DiagnosticError, match="transport helper"):
        load_config(tmp_path)


@pytest.mark.parametrize("command", [["plan", "PLAN"], ["kv", "ls", "--env", "staging"], ["status"]])
def test_config_kv_path_outside_the_repository_refused(
    command: list[str], edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `[kv] path` leaving the repository stops every command at its planner.toml position,
    before anything is created there (issue 18.5)."""
    edgit_repo.write("planner.toml", 'remote = "origin"\n[kv]\npath = "../kv.sqlite"\n')
    edgit_repo.write("plans/x.plan", 'plan "x" {\n  promote prompts/a v1.0.0 to staging\n}\n')
    argv = [str(edgit_repo.work / "plans/x.plan") if a == "PLAN" else a for a in command]
    err = _err(capsys, [*argv, "--repo", str(edgit_repo.work)])
    assert err.startswith("planner.toml:3:1: error: [kv] path '../kv.sqlite' is outside the repository"), err
    assert not (edgit_repo.work.parent / "kv.sqlite").exists()


# ---- 8. --version ---------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"planner {__version__}"


def test_show_deep_plan_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.json").write_text(DEEP_JSON)
    err = _err(capsys, ["show", str(tmp_path / "plan.json")])
    assert "plan.json:1:1: error: malformed plan: JSON nested too deeply" in err
    assert "cannot read" in _err(capsys, ["show", str(tmp_path)])


def test_validate_non_utf8_yaml(edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    edgit_repo.write("conf/x.yaml", b"a: \xff\n")
    edgit_repo.commit("bad yaml")
    edgit_repo.push()
    err = _err(capsys, ["validate", str(edgit_repo.work / "conf/x.yaml"), "--repo", str(edgit_repo.work)])
    assert "conf/x.yaml:1:4: error: not UTF-8 text: byte 0xff at byte offset 3 (line 1)" in err


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        # Parsers count lines at "\n" only; str.splitlines also splits at \f, U+2028, a lone CR...
        ('plan "p" {\f promote a v1.0.0 staging }', 1, 'plan "p" {? promote a v1.0.0 staging }'),
        ('# a\u2028b\nplan "p" { promote a v1.0.0 staging }', 2, 'plan "p" { promote a v1.0.0 staging }'),
        ('plan "p" {\r\n promote a v1.0.0 staging }\r\n', 2, " promote a v1.0.0 staging }"),
        ('plan "p" { promote a v1.0.0 \rstaging }', 1, 'plan "p" { promote a v1.0.0 ?staging }'),
    ],
    ids=["form-feed", "line-separator", "crlf", "lone-cr"],
)
def test_diagnostic_shows_the_line_the_parser_means(text: str, line: int, shown: str) -> None:
    from planner.lang.parser import parse_plan

    with pytest.raises(DiagnosticError) as err:
        parse_plan(text, "f.plan")
    d = err.value.diagnostics[0]
    assert d.span is not None and d.span.line == line
    rendered = err.value.render().split("\n")
    assert rendered[1] == f"    {shown}"
    caret = rendered[2].index("^") - 4
    assert shown[caret:].startswith("staging")  # the caret sits under the token the parser reported


def test_control_characters_from_a_plan_are_shown_escaped(tmp_path: Path) -> None:
    """A NUL or an escape sequence in a plan never reaches the terminal raw: messages show it as
    ``\\x00`` / ``\\x1b``, the echoed source line as ``?`` (the caret stays aligned)."""
    from planner.errors import Diagnostic, Span, printable

    assert printable("a\x00b\x1b[31mc\td\ne") == "a\\x00b\\x1b[31mc\td\ne"
    d = Diagnostic("error", "unknown component 'ext\x00raction'", Span("p.plan", 2, 22), ("see \x1b]0;x\x07",))
    shown = d.render('plan "x" {\n  promote prompts/ext\x00raction v1.0.0 to staging\n}\n')
    assert "\x00" not in shown and "\x1b" not in shown and "\x07" not in shown
    assert "unknown component 'ext\\x00raction'" in shown and "see \\x1b]0;x\\x07" in shown
    assert "promote prompts/ext?raction" in shown
    assert "\x00" not in d.github() and "\\x00" in d.github()
    from tests.gitrepo import EdgitRepo

    repo = EdgitRepo.create(tmp_path)
    plan = tmp_path / "nul.plan"
    plan.write_bytes(b'plan "x" {\n  promote prompts/ext\x00raction v1.0.0 to staging\n}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "check", str(plan), "--repo", str(repo.work)],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1 and b"unexpected '\\x00raction'" in proc.stdout
    assert b"\x00" not in proc.stdout + proc.stderr and b"Traceback" not in proc.stderr
