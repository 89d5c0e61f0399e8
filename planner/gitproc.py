"""Starting git processes safely: argument checks, a fixed environment, remote checks.

Standard library only, on purpose: ``planner status --format json`` starts its two git reads from
here *before* importing the rest of the planner (those imports then overlap with git's own work;
see ``planner.entry``). Everything else reaches git through ``planner.gitio``, which builds on
this module and turns its refusals into :class:`planner.gitio.GitError`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence

# No ``typing`` import (3 ms): this module runs before git starts on the status fast path.
PathLike = str | os.PathLike[str]


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


class Refused(ValueError):
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

_ALLOWED_SCHEMES = frozenset({"file", "git", "ssh", "http", "https", "git+ssh", "ssh+git"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def remote_problem(remote: str) -> str | None:
    """Why git must not be given this remote (a transport helper, an option...), or None if fine."""
    allowed = "use a remote name, a path, user@host:path, or a file://, git://, ssh://, http(s):// URL"
    if not remote:
        return f"remote {remote!r} is not valid: {allowed}"
    if remote.startswith("-"):
        return f"remote {remote!r} is not valid: git would read it as an option; {allowed}"
    if "::" in remote:
        helper = remote.split("::", 1)[0]
        return f"remote {remote!r}: git transport helper {helper + '::'!r} is not supported; {allowed}"
    m = _SCHEME.match(remote)
    if m and m.group(1).lower() not in _ALLOWED_SCHEMES:
        return f"remote {remote!r}: URL scheme {m.group(1)!r} is not supported; {allowed}"
    # ssh would read a host starting with '-' as an option (ssh://-oProxyCommand=..., user@-o...:x).
    host = (
        remote[m.end() :]
        if m
        else (remote.split(":", 1)[0] if ":" in remote and "/" not in remote.split(":", 1)[0] else "")
    )
    if host.rpartition("@")[2].startswith("-"):
        return f"remote {remote!r} is not valid: its host starts with '-', which ssh would read as an option (a host name never starts with '-')"
    return None


def dir_problem(path: PathLike) -> str | None:
    """Why ``path`` cannot be the repository directory (``--repo``), or None if it is a directory."""
    if not os.path.exists(path):
        return f"{path} is not a git repository (no such directory)"
    if not os.path.isdir(path):
        return f"{path} is not a git repository (it is a file, not a directory)"
    return None


def runs_no_helper(remote: str) -> bool:
    """True when git reads ``remote`` without a helper process that could outlive a killed git:
    a path (git's remote names never contain ``/``), ``file://`` or ``git://``. http(s) runs
    ``git-remote-http``, ssh and ``host:path`` run ssh, and a remote name may stand for either."""
    lower = remote.lower()
    if lower.startswith(("file://", "git://")):
        return True
    if "://" in remote or "/" not in remote:
        return False
    colon = remote.find(":")
    return colon == -1 or colon > remote.find("/")  # "host:path/x" is ssh; "./a:b" is a path


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


def start_git(args: Sequence[str | Opt], *, cwd: PathLike | None = None) -> subprocess.Popen[bytes]:
    """Start ``git ARGS`` with piped output; the caller collects it (``planner.gitio.collect``)."""
    return subprocess.Popen(  # argument list, never a shell
        git_argv(args),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(),
    )


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

    Raises Refused for a remote git must not see and OSError when git cannot start; nothing is
    left running then.
    """
    problem = remote_problem(remote)
    if problem is not None:
        raise Refused(problem)
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
