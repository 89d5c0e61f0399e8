"""What the planner says about remotes and reads from them: which ones git must never see,
failures as sentences, URLs without credentials, and ``git ls-remote``'s output (the ONE reader). Pure text functions (no git, no exceptions); ``planner.gitio`` raises
and runs git with them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

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


def failure_sentence(remote: str, stderr: str, message: str, names: Sequence[str] | None) -> str:
    """A failed read of ``remote`` as one sentence: an unknown remote name (``names``: the configured
    ones, when ``remote`` is a name; a did-you-mean), unreachable, authentication failed, or not a
    repository; git's own text stays as a detail line (credentials removed)."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    main = [ln for ln in lines if ln.startswith(("fatal:", "error:"))] or lines or [message]
    detail = redact_url(main[0])
    shown = redact_url(remote)
    if names is not None and remote not in names:
        hit = difflib.get_close_matches(remote, list(names), n=1, cutoff=0.5)
        hint = f" (did you mean '{hit[0]}'?)" if hit else ""
        have = (
            f"configured remotes: {', '.join(names)}" if names else "no remote is configured (git remote add NAME URL)"
        )
        return f"unknown remote '{remote}'{hint}; {have}"
    low = stderr.lower()
    if any(p in low for p in _AUTH):
        sentence = f"authentication to the remote {shown} failed (check the credentials or token git uses for it)"
    elif any(p in low for p in _UNREACHABLE):
        sentence = f"cannot reach the remote {shown} (network or host down)"
    elif any(p in low for p in _NOT_REPO):
        sentence = f"the remote {shown} is not a git repository, or it does not exist"
    else:
        sentence = f"cannot read the remote {shown}"
    return f"{sentence}\n  git said: {detail}"


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


# One pass over the whole output: a ref line, then (for an annotated tag) its ``^{}`` peeled line.
_LS_LINE = re.compile(r"^([^\t\n]+)\t([^\n]+)\n(?:([^\t\n]+)\t\2\^\{\}(?:\n|\Z))?", re.M)


def parse_ls_remote(text: str) -> dict[str, tuple[str, str]]:
    """``oid<TAB>ref`` lines -> {ref: (object, peeled commit)}; ``^{}`` lines give the peeled oid."""
    if not text.endswith("\n"):
        text += "\n"
    out: dict[str, tuple[str, str]] = {}
    stray: dict[str, str] = {}  # a peeled line not right after its ref (git never writes one)
    for oid, ref, peeled in _LS_LINE.findall(text):
        if ref.endswith("^{}"):
            stray[ref[:-3]] = oid
        else:
            out[ref] = (oid, peeled or oid)
    for ref, oid in stray.items():
        if ref in out:
            out[ref] = (out[ref][0], oid)
    return out
