"""The git boundary: every git process the planner starts is started here. Argument lists only, never a shell.

Callers pass refs and names that came from plans or remotes; they must already have passed
``planner.model`` validation, and every git call additionally refuses any positional argument
that starts with ``-`` unless the caller marks it as an option (``Opt``). git runs in a fixed
environment (no prompts, no pager, no system config, only real transports), and a remote that
could read as an option or name a transport helper is refused before git sees it. Failures
become :class:`GitError`; failed remote reads become one sentence (``remote_failure``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.errors import PlannerError
from planner.gitremote import failure_sentence, parse_ls_remote, redact_url, remote_problem

PathLike = str | os.PathLike[str]

__all__ = [
    "GitError",
    "Opt",
    "Refused",
    "Remote",
    "Repo",
    "check_remote",
    "collect",
    "git_env",
    "git_text",
    "run_git",
]


class GitError(PlannerError):
    """git failed, or is not there."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


class Opt:
    """Marks an argument as an intended option (``Opt("--atomic")``) so it may start with ``-``."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Opt({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opt) and other.value == self.value

    def __hash__(self) -> int:
        return hash((Opt, self.value))


class Refused(GitError):
    """An argument or remote that must never reach git; ``str(exc)`` is the user-facing reason."""


# A fixed, predictable environment: no prompts, no pager, no user hooks changing output format.
BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    # Only real transports: git refuses ext:: (runs a command), fd:: (hangs on a file descriptor)
    # and any other remote helper, whatever a remote URL or a config says.
    "GIT_ALLOW_PROTOCOL": "file:git:ssh:http:https",
}


def dir_problem(path: PathLike) -> str | None:
    """Why ``path`` cannot be the repository directory (``--repo``), or None if it is a directory."""
    if not os.path.exists(path):
        return f"{path} is not a git repository (no such directory)"
    if not os.path.isdir(path):
        return f"{path} is not a git repository (it is a file, not a directory)"
    return None


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BASE_ENV)
    if extra:
        env.update(extra)
    return env


def git_argv(args: Sequence[str | Opt]) -> list[str]:
    """``["git", *args]``; a positional argument starting with ``-`` is refused (names are hostile)."""
    out = ["git"]
    for a in args:
        if isinstance(a, Opt):
            out.append(a.value)
        elif a.startswith("-"):
            raise Refused(f"refusing to pass {a!r} to git: it would be read as an option")
        else:
            out.append(a)
    return out


def start_git(
    args: Sequence[str | Opt],
    *,
    cwd: PathLike | None = None,
    env: dict[str, str] | None = None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``git ARGS`` with piped output; the caller collects it (``collect``).

    ``new_session``: git and every helper it starts (ssh, remote-https, hooks) get their own process
    group, so the caller can stop all of them at once (``os.killpg``; see ``planner.txn.push``).
    """
    argv = git_argv(args)
    try:
        return subprocess.Popen(  # argument list, never a shell
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(env),
            start_new_session=new_session,
        )
    except OSError as exc:
        raise start_error(argv, exc, cwd) from exc


# The git reads a remote-state snapshot is made of (planner.state): ONE ls-remote of our tag
# prefixes and the ledger ref, and ONE local for-each-ref to report stale local tags.
SNAPSHOT_PATTERNS = ("refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*")
FOR_EACH_REF: tuple[str | Opt, ...] = (
    "for-each-ref",
    Opt("--format=%(objectname) %(refname)"),
    "refs/tags/components/",
    "refs/tags/logic/",
)


def ls_remote_args(remote: str) -> list[str | Opt]:
    # A remote that looks like an option is refused by git_argv; patterns stay positional.
    return ["ls-remote", remote, *SNAPSHOT_PATTERNS]


def start_snapshot_reads(remote: str, repo: PathLike) -> list[subprocess.Popen[bytes]]:
    """Start both reads of a snapshot at once: ``[ls-remote, for-each-ref]``.

    Raises Refused for a remote git must not see and GitError when git cannot start; nothing is
    left running then.
    """
    check_remote(remote)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for args in (ls_remote_args(remote), FOR_EACH_REF):
            procs.append(start_git(args, cwd=repo))
    except BaseException:
        kill_all(procs)
        raise
    return procs


def kill_all(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop every process still running: no git process outlives a failed read."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def check_remote(remote: str) -> str:
    """Refuse remotes git would hand to a transport helper; allow names, paths, scp-like and URLs.

    Checked before git runs so the user gets a clear message instead of a hang (``fd::3``) or a
    command run by git (``ext::sh -c ...``).
    """
    problem = remote_problem(remote)
    if problem is not None:
        raise Refused(problem)
    return remote


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
    argv = git_argv(args)
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
    """Wait for git processes started by ``start_git``, in order, like ``run_git``.

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


def remote_failure(repo: Path | str, remote: str, exc: GitError) -> GitError:
    """A failed read of ``remote`` as one sentence (``planner.gitremote.failure_sentence``)."""
    names: list[str] | None = None
    if Remote(remote).is_name:
        try:
            names = run_git(["remote"], cwd=repo).stdout.decode("utf-8", "replace").split()
        except GitError:
            names = []
    sentence = failure_sentence(remote, exc.stderr, exc.message, names)
    return GitError(sentence, stderr=exc.stderr, returncode=exc.returncode)


def start_error(argv: Sequence[str], exc: OSError, cwd: PathLike | None = None) -> GitError:
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


@dataclass(frozen=True)
class Remote:
    """The remote a command reads and pushes to: a remote name, path or URL, checked once when made
    (``check_remote``), so no module hands git a bare string. ``str()`` never shows credentials."""

    spec: str  # what git is given

    def __post_init__(self) -> None:
        check_remote(self.spec)

    @property
    def shown(self) -> str:
        """The remote for messages and documents (credentials removed)."""
        return redact_url(self.spec)

    @property
    def is_name(self) -> bool:
        """A configured remote's name (``origin``), not a path or URL."""
        return "/" not in self.spec and ":" not in self.spec and not self.spec.startswith(".")

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class Repo:
    """The repository a command works in (its work tree's top level): every git process of the
    planner runs through one of these, started in ``root``."""

    root: Path

    def run(
        self,
        args: Sequence[str | Opt],
        *,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[bytes]:
        return run_git(args, cwd=self.root, input=input, env=env, check=check, timeout=timeout)

    def text(self, args: Sequence[str | Opt], *, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """stdout of ``git ARGS`` (which must succeed) as text."""
        return self.run(args, input=input, env=env).stdout.decode("utf-8", "replace")

    def start(
        self, args: Sequence[str | Opt], *, env: dict[str, str] | None = None, new_session: bool = False
    ) -> subprocess.Popen[bytes]:
        return start_git(args, cwd=self.root, env=env, new_session=new_session)

    def url_of(self, remote: Remote, *, push: bool = False) -> str:
        """The URL a remote *name* stands for in git config (``pushInsteadOf`` applied with ``push``);
        a path or URL as given. It may hold credentials: show it through ``redact_url``."""
        if not remote.is_name:
            return remote.spec
        proc = self.run(["remote", "get-url", *([Opt("--push")] if push else []), Opt("--"), remote.spec], check=False)
        url = proc.stdout.decode("utf-8", "replace").strip()
        return url if proc.returncode == 0 and url else remote.spec

    def remote_names(self) -> list[str]:
        return self.text(["remote"]).split()

    def ls_remote(self, remote: Remote, patterns: Sequence[str]) -> dict[str, tuple[str, str]]:
        """ONE ``git ls-remote REMOTE PATTERNS...`` -> {ref: (object, peeled commit)} (patterns match
        by their tail, so callers look refs up by their full name); a failure is one sentence."""
        try:
            return parse_ls_remote(self.text(["ls-remote", remote.spec, *patterns]))
        except GitError as exc:
            raise self.remote_failure(remote, exc) from None

    def remote_failure(self, remote: Remote, exc: GitError) -> GitError:
        return remote_failure(self.root, remote.spec, exc) if exc.stderr else exc
