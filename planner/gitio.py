"""Running git for the rest of the planner. Argument lists only, never a shell.

Callers pass refs and names that came from plans or remotes; they must already have passed
``planner.model`` validation, and every git call additionally refuses any positional argument
that starts with ``-`` unless the caller marks it as an option (the checks and git's fixed
environment live in ``planner.gitproc``, shared with the status fast path). Failures become
:class:`GitError`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from planner.errors import PlannerError
from planner.gitproc import Opt, Refused, git_argv, git_env, kill_all, remote_problem

__all__ = [
    "GitError",
    "Opt",
    "check_remote",
    "collect",
    "git_env",
    "git_text",
    "redact_url",
    "run_git",
]


class GitError(PlannerError):
    """git failed, or is not there."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


def check_remote(remote: str) -> str:
    """Refuse remotes git would hand to a transport helper; allow names, paths, scp-like and URLs.

    Checked before git runs so the user gets a clear message instead of a hang (``fd::3``) or a
    command run by git (``ext::sh -c ...``).
    """
    problem = remote_problem(remote)
    if problem is not None:
        raise GitError(problem)
    return remote


def _argv(args: Sequence[str | Opt]) -> list[str]:
    try:
        return git_argv(args)
    except Refused as exc:
        raise GitError(str(exc)) from None


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
    argv = _argv(args)
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
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {argv[1]} timed out after {timeout} s") from exc
    except OSError as exc:
        raise start_error(argv, exc, cwd) from exc
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


def collect(
    procs: Sequence[subprocess.Popen[bytes]], checks: Sequence[bool], *, timeout: float | None = 600
) -> list[subprocess.CompletedProcess[bytes]]:
    """Wait for git processes started by ``planner.gitproc.start_git``, in order, like ``run_git``.

    A later process whose pipe fills just waits for its turn. Failures raise :class:`GitError`
    (for each ``check``); on any error no process outlives the call.
    """
    done: list[subprocess.CompletedProcess[bytes]] = []
    try:
        for proc in procs:
            name = proc.args[1] if isinstance(proc.args, list) else "?"
            try:
                out, errb = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise GitError(f"git {name} timed out after {timeout} s") from exc
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, errb))
    finally:
        kill_all(procs)
    for check, cp in zip(checks, done, strict=True):
        if check:
            _raise_on_failure(cp)
    return done


_UNREACHABLE = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "network is unreachable",
    "no route to host",
    "unable to connect",
    "failed to connect",
    "could not connect",
)
_AUTH = (
    "authentication failed",
    "permission denied",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "invalid username or password",
)
_NOT_REPO = (
    "does not appear to be a git repository",
    "repository not found",
    "not a git repository",
    "returned error: 404",
    "not found",
)


def remote_failure(repo: Path | str, remote: str, exc: GitError) -> GitError:
    """A failed read of ``remote`` as one sentence: an unknown remote name (with the configured ones
    and a did-you-mean), unreachable, authentication failed, or not a repository; git's own text
    stays as a detail line (credentials removed)."""
    lines = [ln for ln in exc.stderr.strip().splitlines() if ln.strip()]
    main = [ln for ln in lines if ln.startswith(("fatal:", "error:"))] or lines or [exc.message]
    detail = redact_url(main[0])
    shown = redact_url(remote)
    if "/" not in remote and ":" not in remote and remote not in (".", ".."):  # a remote *name*
        try:
            names = run_git(["remote"], cwd=repo).stdout.decode("utf-8", "replace").split()
        except GitError:
            names = []
        if remote not in names:
            import difflib

            hit = difflib.get_close_matches(remote, names, n=1, cutoff=0.5)
            hint = f" (did you mean '{hit[0]}'?)" if hit else ""
            have = (
                f"configured remotes: {', '.join(names)}"
                if names
                else "no remote is configured (git remote add NAME URL)"
            )
            return GitError(f"unknown remote '{remote}'{hint}; {have}", stderr=exc.stderr, returncode=exc.returncode)
    low = exc.stderr.lower()
    if any(p in low for p in _AUTH):
        sentence = f"authentication to the remote {shown} failed (check the credentials or token git uses for it)"
    elif any(p in low for p in _UNREACHABLE):
        sentence = f"cannot reach the remote {shown} (network or host down)"
    elif any(p in low for p in _NOT_REPO):
        sentence = f"the remote {shown} is not a git repository, or it does not exist"
    else:
        sentence = f"cannot read the remote {shown}"
    return GitError(f"{sentence}\n  git said: {detail}", stderr=exc.stderr, returncode=exc.returncode)


def start_error(argv: Sequence[str], exc: OSError, cwd: Path | str | None = None) -> GitError:
    """The GitError for a git that could not start (``argv``: the full command line)."""
    command, skip = "", False
    for a in argv[1:]:  # the subcommand: the first word that is neither an option nor its value
        if skip or a in ("-c", "-C"):
            skip = not skip
        elif not a.startswith("-"):
            command = a
            break
    if cwd is not None and not os.path.isdir(cwd):
        return GitError(f"cannot run git {command} in {str(cwd)!r}: {exc.strerror or exc}")
    if isinstance(exc, FileNotFoundError):
        return GitError("git is not installed or not on PATH")
    return GitError(f"cannot start git {command}: {exc.strerror or exc}")


def git_text(args: Sequence[str | Opt], *, cwd: Path | str | None = None, **kw: object) -> str:
    return run_git(args, cwd=cwd, **kw).stdout.decode("utf-8", "replace")  # type: ignore[arg-type]


def redact_url(text: str) -> str:
    """Remove credentials from any URL in ``text`` (``https://user:token@host`` -> ``https://host``)."""
    words = []
    for word in text.split(" "):
        if "://" in word and "@" in word:
            from urllib.parse import urlsplit, urlunsplit  # rare: only for a URL with credentials

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
