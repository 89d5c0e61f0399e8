"""Every shell and plan example in README.md and docs/*.md runs as written (issue 14.9).

The rules the docs follow (checked here):

* Every fenced block has an info string. ``sh`` blocks are run; ``plan`` blocks are compiled;
  ``text``, ``json``, ``toml``, ``yaml`` and ``python`` blocks are output, configuration or
  library code, not run.
* An ``sh`` block runs in bash in a fresh kept demo (``planner demo --keep``), in its checkout,
  unless the block builds its own demo. Paths under ``/tmp/`` are redirected into the test's
  temporary directory. Each command must exit 0, or the code its comment states (``# exit 3``).
* A ``plan`` block (a whole plan, or statements, which are wrapped in one) must pass
  ``planner check`` in the demo checkout; a block marked ``<!-- syntax only: REASON -->`` (it names
  components or versions the demo does not have) is parsed only.
* An indented block that is a shell command or a plan must be a fenced block instead, or be marked.
* ``<!-- not run: REASON -->`` right before a block says why it cannot run (it installs something,
  it is a synopsis with placeholders, ...). The reason is required.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
PLANNER = str(BIN / "planner")
NOT_RUN = {"text", "json", "toml", "yaml", "python"}
MARK = re.compile(r"^<!-- (not run|syntax only): (\S.*?) -->$")
SHELLISH = ("planner ", ".venv/bin/", "python3 ", "cd ", "$ ")
EXIT = re.compile(r"#.*\bexit (\d+)\b")


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    info: str  # the fence's info string ("" for an indented block)
    text: str
    fenced: bool
    mark: tuple[str, str] | None  # ("not run" | "syntax only", reason)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def _mark(lines: list[str], i: int) -> tuple[str, str] | None:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    m = MARK.match(lines[j].strip()) if j >= 0 else None
    return (m.group(1), m.group(2)) if m else None


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    name = str(path.relative_to(ROOT))
    out: list[Block] = []
    i, blank_before = 0, True
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
            text = "\n".join(lines[i + 1 : end]) + "\n"
            out.append(Block(name, i + 1, line[3:].strip(), text, True, _mark(lines, i)))
            i, blank_before = end + 1, False
            continue
        if line.startswith("    ") and blank_before and line.strip():
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            text = "\n".join(ln[4:] for ln in lines[i:end]).strip("\n") + "\n"
            first = text.lstrip()
            if first.startswith(SHELLISH) or first.startswith('plan "'):
                out.append(Block(name, i + 1, "", text, False, _mark(lines, i)))
            i, blank_before = end, True
            continue
        blank_before = not line.strip()
        i += 1
    return out


ALL = [b for doc in DOCS for b in blocks(doc)]
SHELL = [b for b in ALL if b.info == "sh" and b.mark is None]
PLANS = [b for b in ALL if b.info == "plan" and (b.mark is None or b.mark[0] == "syntax only")]


def test_every_block_is_classified() -> None:
    assert len(ALL) > 40
    problems = []
    for b in ALL:
        if b.mark is not None and b.mark[0] == "syntax only" and b.info != "plan":
            problems.append(f"{b.id}: 'syntax only' is for plan blocks")
        if b.fenced and b.info not in NOT_RUN | {"sh", "plan"}:
            problems.append(
                f"{b.id}: a fenced block needs one of the info strings sh, plan, {', '.join(sorted(NOT_RUN))}"
            )
        if not b.fenced and b.mark is None:
            problems.append(f"{b.id}: a shell command or plan in an indented block: fence it (sh / plan) or mark it")
    assert not problems, "\n".join(problems)
    assert len(SHELL) >= 4 and len(PLANS) >= 8


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PLANNER_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp / "home"), NO_COLOR="1", TERM="dumb")
    (tmp / "home").mkdir(exist_ok=True)
    return env


def checked_script(text: str) -> str:
    """The block as a bash script that stops at the first command whose exit code is not the one
    its comment states (0 when it states none), naming the line."""
    out = ["set -u"]
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        cmd = lines[i]
        i += 1
        if not cmd.strip() or cmd.lstrip().startswith("#"):
            continue
        while cmd.endswith("\\") and i < len(lines):
            cmd += "\n" + lines[i]
            i += 1
        heredoc = re.search(r"<<-?'?(\w+)'?", cmd)
        if heredoc:  # copy the here-document as it is, up to its terminator
            while i < len(lines) and lines[i].strip() != heredoc.group(1):
                cmd += "\n" + lines[i]
                i += 1
            cmd += "\n" + lines[i]
            i += 1
        want = EXIT.search(cmd.split("\n")[0])
        expected = int(want.group(1)) if want else 0
        shown = cmd.split("\n")[0].replace("'", "'\\''")  # single-quoted: never expanded again
        out.append(cmd)
        out.append(
            f'rc=$?; if [ "$rc" -ne {expected} ]; then '
            f"printf 'exit %s, expected {expected}: %s\\n' \"$rc\" '{shown}' >&2; exit 99; fi"
        )
    return "\n".join(out) + "\nexit 0\n"


def _demo(tmp: Path, env: dict[str, str]) -> Path:
    proc = subprocess.run([PLANNER, "demo", "--keep", str(tmp / "demo")], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return tmp / "demo" / "work"


@pytest.mark.parametrize("block", SHELL, ids=lambda b: b.id)
def test_shell_example_runs(block: Block, tmp_path: Path) -> None:
    assert shutil.which("jq"), "the CI examples use jq"
    env = _env(tmp_path)
    text = block.text.replace("/tmp/", f"{tmp_path}/")
    cwd = tmp_path if "planner demo --keep" in text else _demo(tmp_path, env)
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", checked_script(text)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, f"{block.id}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def demo_work(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("docplans")
    env = _env(tmp)
    return _demo(tmp, env), env


def _as_plan(text: str) -> str:
    """A whole plan as it is; statements (the language reference's examples) wrapped in one."""
    return text if re.search(r'^plan "', text, re.M) else 'plan "doc" {\n' + text + "}\n"


@pytest.mark.parametrize("block", PLANS, ids=lambda b: b.id)
def test_plan_example_compiles(block: Block, demo_work: tuple[Path, dict[str, str]]) -> None:
    from planner.lang.parser import parse_plan

    text = _as_plan(block.text)
    parse_plan(text, block.id)  # a syntax error raises, with the position
    if block.mark is not None:  # syntax only: the demo lacks what it names
        return
    work, env = demo_work
    file = work / "plans" / f"doc-{block.line}.plan"
    file.write_text(text, encoding="utf-8")
    proc = subprocess.run([PLANNER, "check", str(file)], cwd=work, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{block.id}\n{proc.stdout}\n{proc.stderr}"


def test_checked_script_states_exit_codes(tmp_path: Path) -> None:
    """The harness itself: a command that exits otherwise than its comment says fails the block."""

    def run(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", checked_script(text)], cwd=tmp_path, capture_output=True, text=True)

    assert run("true\nfalse   # exit 1\n").returncode == 0
    bad = run("true   # exit 3\n")
    assert bad.returncode == 99 and "exit 0, expected 3: true   # exit 3" in bad.stderr
    assert run("cat > f <<'EOF'\nx\nEOF\ntest -s f\n").returncode == 0
    quoted = run("echo \"$(echo x)\" 'it''s' > /dev/null   # exit 4\n")  # the line is shown, not run again
    assert quoted.returncode == 99 and """expected 4: echo "$(echo x)" 'it''s' > /dev/null""" in quoted.stderr
