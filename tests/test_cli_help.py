"""Help, choices and shell completion (issue 14.4): what a new user sees before running anything."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from planner.cli import app, run
from planner.cli.app import COMMANDS as COMMAND_TABLE

PLANNER = str(Path(sys.executable).with_name("planner"))
BIN = str(Path(sys.executable).parent)


def _commands() -> dict[str, object]:
    """Every leaf command by its full name (`kv diff`, `components add`), as Typer built them
    (commands load on first use: listed through the group, as help and completion list them)."""
    group = typer.main.get_command(app)
    out: dict[str, object] = {}

    def walk(cmd: object, prefix: str) -> None:
        if hasattr(cmd, "list_commands"):
            ctx = typer.Context(cmd)  # type: ignore[arg-type]
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), f"{prefix} {name}".strip())  # type: ignore[attr-defined]
        else:
            out[prefix] = cmd

    walk(group, "")
    return out


COMMANDS = _commands()
WITH_FORMAT = sorted(n for n, c in COMMANDS.items() if any("--format" in p.opts for p in c.params))  # type: ignore[attr-defined]


def test_every_format_option_is_a_choice_listed_in_help() -> None:
    assert (
        len(WITH_FORMAT) >= 12
    )  # plan, show, apply, history, status, check, graph, validate, kv ..., sync, components
    for name in WITH_FORMAT:
        (fmt,) = [p for p in COMMANDS[name].params if "--format" in p.opts]  # type: ignore[attr-defined]
        assert "text" in getattr(fmt.type, "choices", ()), name  # a choice, not free text


@pytest.mark.parametrize("name", WITH_FORMAT)
def test_a_bad_format_gets_one_message(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*name.split(), "--format", "yaml"]
    (fmt,) = [p for p in COMMANDS[name].params if "--format" in p.opts]  # type: ignore[attr-defined]
    required = [p for p in COMMANDS[name].params if p.required and p is not fmt]  # type: ignore[attr-defined]
    argv += ["x"] * sum(1 for p in required if not p.opts)  # positional arguments: any value
    argv += [a for p in required if p.opts for a in (p.opts[0], "x")]
    assert run(argv) == 1
    err = capsys.readouterr().err
    choices = ", ".join(f"'{c}'" for c in fmt.type.choices)
    assert f"Invalid value for '--format': 'yaml' is not one of {choices}." in err, err
    assert "Value error" not in err and "Traceback" not in err


def test_help_lists_the_choices_and_uses_one_argument_style(capsys: pytest.CaptureFixture[str]) -> None:
    for name in [*COMMANDS, "kv", "components"]:
        assert run([*name.split(), "--help"]) == 0
        out = capsys.readouterr().out
        usage = re.search(r"Usage: planner [^\n]*", out)
        assert usage is not None, name
        # arguments are UPPERCASE names in {required} / [optional], never a lower-case Python name
        for arg in re.findall(r"[{\[]([^}\]]+)[}\]]", usage.group(0).removeprefix(f"Usage: planner {name}")):
            assert arg == "OPTIONS" or arg == arg.upper(), (name, arg)
        if name in WITH_FORMAT:
            assert re.search(r"--format\s+<text\|", out), name
    assert run(["components", "add", "--help"]) == 0
    assert "<template|prompt|query|config|" in capsys.readouterr().out
    assert run(["components", "add", "x", "--type", "promtp"]) == 1
    assert "Invalid value for '--type': 'promtp' is not one of 'template', 'prompt'" in capsys.readouterr().err


def test_commands_in_workflow_order_with_one_line_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["COLUMNS"] = "80"
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^│ (\w+)\s{2,}(\S.*?)\s*│$", out, re.M)
    assert [n for n, _ in listed] == list(COMMAND_TABLE)
    assert len(re.findall(r"^│ {4,}\S", out[out.index("Commands") :], re.M)) == 0  # no wrapped second lines
    assert set(COMMAND_TABLE) == {n.split()[0] for n in COMMANDS}


def _completion_script(shell: str) -> str:
    """`planner --show-completion` for ``shell``. Typer detects the shell it runs under; its switch
    for tests turns detection off and takes the shell as the option's value instead."""
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = subprocess.run([PLANNER, "--show-completion", shell], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _complete_in_bash(script: Path, words: list[str]) -> list[str]:
    """Source the generated script in a real bash and ask its completion function, as bash's
    `complete -F` would when TAB is pressed after ``words``."""
    cword = len(words) - 1
    body = (
        f'source "$1"\n'
        f"COMP_WORDS=({' '.join(words)})\nCOMP_CWORD={cword}\n"
        "complete -p planner >/dev/null || exit 9\n"  # the script registered itself for `planner`
        "_planner_completion planner\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", body, "bash", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bash_completion_script_completes_commands_and_choices(tmp_path: Path) -> None:
    script = tmp_path / "planner.bash"
    script.write_text(_completion_script("bash"))
    assert _complete_in_bash(script, ["planner", "pro"]) == ["promote"]
    assert set(_complete_in_bash(script, ["planner", "s"])) == {"show", "status", "sync"}
    assert _complete_in_bash(script, ["planner", "kv", "d"]) == ["diff"]
    assert _complete_in_bash(script, ["planner", "plan", "--format", "m"]) == ["markdown"]


def test_zsh_and_fish_scripts_are_generated() -> None:
    assert "compdef _planner_completion planner" in _completion_script("zsh")
    assert "complete --command planner" in _completion_script("fish")
