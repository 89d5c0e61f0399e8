"""Is a saved plan's remote the one apply would push to? (plan.json records it, credential-free.)

A plan computed against a fork or a mirror holds that remote's expected old values; applied to
another remote its leases would be wrong or, worse, happen to match. So apply refuses it.
Comparison is on normalized credential-free URLs: remote names resolved through git config,
paths made absolute (relative ones against the checkout), ``file://`` taken as its path, and for
network URLs the scheme and host lower-cased and a trailing ``/`` or ``.git`` ignored (hosts
serve ``o/r`` and ``o/r.git`` as one repository).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from planner.gitio import Remote, Repo
from planner.plan.changes import ComputedPlan
from planner.plan.diff import remote_url
from planner.txn.errors import RemoteMismatchError


def _is_scp_like(url: str) -> bool:
    """git's rule: ``host:path`` (ssh) when a ':' comes before any '/'."""
    colon, slash = url.find(":"), url.find("/")
    return colon > 0 and (slash < 0 or colon < slash)


def normalize_remote(url: str, repo: Path) -> str:
    """A comparable form of a credential-free remote URL or path."""
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return _path(unquote(parts.path), repo)
        path = parts.path.rstrip("/").removesuffix(".git").rstrip("/")
        return f"{scheme}://{parts.netloc.lower()}{path}"
    if _is_scp_like(url):
        host, _, path = url.partition(":")
        return f"{host.lower()}:{path.rstrip('/').removesuffix('.git').rstrip('/')}"
    return _path(url, repo)


def _path(path: str, repo: Path) -> str:
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = repo / p
    return p.resolve().as_posix()  # resolves symlinks and '..'; a missing path still normalizes


def check_plan_remote(plan: ComputedPlan, *, repo: Repo, remote: Remote) -> None:
    """Raise RemoteMismatchError unless ``plan.remote`` is the remote ``remote`` resolves to."""
    target = remote_url(remote, repo)
    if normalize_remote(plan.remote, repo.root) == normalize_remote(target, repo.root):
        return
    raise RemoteMismatchError(
        f"this plan was computed against remote {plan.remote!r}, but apply would push to {target!r}; "
        "nothing was changed. Re-run `planner plan` against that remote, or pass --remote to apply "
        "to the remote the plan was made for"
    )
