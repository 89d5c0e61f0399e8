"""The one place that starts git. Argument lists only, never a shell.

Callers pass refs and names that came from plans or remotes; they must already have passed
``planner.model`` validation, and ``run_git`` additionally refuses any positional argument that
starts with ``-`` unless the caller marks it as an option. Failures become :class:`GitError`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from planner.errors import PlannerError


class GitError(PlannerError):
    """git failed, or is not there."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


@dataclass(frozen=True)
class Opt:
    """Marks an argument as an intended option (``Opt("--atomic")``) so it may start with ``-``."""

    value: str


# A fixed, predictable environment: no prompts, no pager, no user hooks changing output format.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    # Only real transports: git refuses ext:: (runs a command), fd:: (hangs on a file descriptor)
    # and any other remote helper, whatever a remote URL or a config says.
    "GIT_ALLOW_PROTOCOL": "file:git:ssh:http:https",
}

_ALLOWED_SCHEMES = frozenset({"file", "git", "ssh", "http", "https", "git+ssh", "ssh+git"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def check_remote(remote: str) -> str:
    """Refuse remotes git would hand to a transport helper; allow names, paths, scp-like and URLs.

    Checked before git runs so the user gets a clear message instead of a hang (``fd::3``) or a
    command run by git (``ext::sh -c ...``).
    """
    allowed = "use a remote name, a path, user@host:path, or a file://, git://, ssh://, http(s):// URL"
    if not remote or remote.startswith("-"):
        raise GitError(f"remote {remote!r} is not valid: {allowed}")
    if "::" in remote:
        helper = remote.split("::", 1)[0]
        raise GitError(f"remote {remote!r}: git transport helper {helper + '::'!r} is not supported; {allowed}")
    m = _SCHEME.match(remote)
    if m and m.group(1).lower() not in _ALLOWED_SCHEMES:
        raise GitError(f"remote {remote!r}: URL scheme {m.group(1)!r} is not supported; {allowed}")
    return remote


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_BASE_ENV)
    if extra:
        env.update(extra)
    return env


def _argv(args: Sequence[str | Opt]) -> list[str]:
    out: list[str] = []
    for a in args:
        if isinstance(a, Opt):
            out.append(a.value)
        elif a.startswith("-"):
            raise GitError(f"refusing to pass {a!r} to git: it would be read as an option")
        else:
            out.append(a)
    return out


def run_git(
    args: Sequence[str | Opt],
    *,
    cwd: Path | str | None = None,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = 600,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` and return the completed process (stdout/stderr as bytes)."""
    argv = ["git", *_argv(args)]
    try:
        proc = subprocess.run(  # argument list, never a shell
            argv,
            cwd=cwd,
            input=input,
            capture_output=True,
            env=git_env(env),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {argv[1]} timed out after {timeout} s") from exc
    if check:
        _raise_on_failure(proc)
    return proc


def _raise_on_failure(proc: subprocess.CompletedProcess[bytes]) -> None:
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(
            f"git {proc.args[1]} failed (exit {proc.returncode}): {redact_url(err)}",
            stderr=err,
            returncode=proc.returncode,
        )


def run_git_concurrently(
    commands: Sequence[tuple[Sequence[str | Opt], bool]],
    *,
    cwd: Path | str | None = None,
    timeout: float | None = 600,
) -> list[subprocess.CompletedProcess[bytes]]:
    """Run independent git commands at the same time; ``commands`` is ``[(args, check), ...]``.

    Each one behaves like ``run_git(args, check=check)``; start-up and I/O overlap (a remote read
    and a local ``for-each-ref`` cost one wait instead of two). Outputs are collected in order; a
    later command whose pipe fills just waits for its turn.
    """
    argvs = [["git", *_argv(args)] for args, _ in commands]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv in argvs:
            procs.append(
                subprocess.Popen(  # argument list, never a shell
                    argv,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=git_env(),
                )
            )
        done: list[subprocess.CompletedProcess[bytes]] = []
        for argv, proc in zip(argvs, procs, strict=True):
            try:
                out, errb = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise GitError(f"git {argv[1]} timed out after {timeout} s") from exc
            done.append(subprocess.CompletedProcess(argv, proc.returncode, out, errb))
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    finally:
        for proc in procs:  # on any error: no git process outlives the call
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for (_, check), cp in zip(commands, done, strict=True):
        if check:
            _raise_on_failure(cp)
    return done


def git_text(args: Sequence[str | Opt], *, cwd: Path | str | None = None, **kw: object) -> str:
    return run_git(args, cwd=cwd, **kw).stdout.decode("utf-8", "replace")  # type: ignore[arg-type]


def redact_url(text: str) -> str:
    """Remove credentials from any URL in ``text`` (``https://user:token@host`` -> ``https://host``)."""
    words = []
    for word in text.split(" "):
        if "://" in word and "@" in word:
            try:
                parts = urlsplit(word)
                if parts.username or parts.password:
                    host = parts.hostname or ""
                    if parts.port:
                        host = f"{host}:{parts.port}"
                    word = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
            except ValueError:
                pass
        words.append(word)
    return " ".join(words)
