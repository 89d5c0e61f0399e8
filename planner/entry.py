"""The ``planner`` console script: a fast path for ``planner status --format json``, else Typer.

Typer (with pydantic, click and rich behind it) costs several hundred milliseconds to import,
more than reading a 10,000-tag remote. Scripts poll ``status --format json``, so that one
read-only command is parsed here by hand when its arguments are plain; anything else (help, other
commands, unusual spellings) goes through the full CLI. The fast path makes the same checks and
library calls as the ``status`` command and reports errors with the same function
(``planner.errors.report``), so output and exit codes are the same (tests compare them).

On the fast path the two git reads start first when that is safe (``planner.gitproc`` needs only
the standard library; see ``start_reads_early``), the planner is imported while git works, and
the process ends with ``os._exit`` once the output is flushed: freeing the 10,000-tag object
graph one object at a time is wasted work.
"""

from __future__ import annotations

import gc
import os
import subprocess  # needed first thing by the fast path (it starts git before anything else)
import sys
from collections.abc import Sequence

_OPTIONS = {"--env", "--remote", "--format", "--repo"}


def parse_fast_status(argv: Sequence[str]) -> dict[str, str] | None:
    """Options of ``status [COMPONENT] [--env E] [--remote R] [--format json] [--repo P]``, or None."""
    if not argv or argv[0] != "status":
        return None
    opts: dict[str, str] = {}
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a.startswith("-"):
            name, eq, value = a.partition("=")
            if name not in _OPTIONS or name in opts:
                return None
            if not eq:
                if not args:
                    return None
                value = args.pop(0)
            if value.startswith("-"):
                return None  # let the full CLI explain whatever this is
            opts[name] = value
        elif "component" in opts:
            return None
        else:
            opts["component"] = a
    return opts if opts.get("--format") == "json" else None


def start_reads_early(opts: dict[str, str]) -> tuple[str, list[subprocess.Popen[bytes]]] | None:
    """Start the snapshot's two git reads before the rest of the planner is imported.

    git needs ~40 ms to answer for a 10,000-tag remote; importing the planner's modules takes about
    as long, so they overlap instead of adding up. Only when nothing read later can make the run
    fail before git is needed, and nothing git starts can outlive it: ``--repo`` is a work tree
    (checked by the caller), the remote is given (not looked up in ``planner.toml``) and is a
    path, ``file://`` or ``git://`` (http(s) and ssh run helper processes that a killed git
    leaves behind). None means "start them later", after the arguments and files are checked.
    """
    from planner.gitproc import Refused, runs_no_helper, start_snapshot_reads

    repo = opts.get("--repo", ".")
    remote = opts.get("--remote")
    if remote is None or not runs_no_helper(remote):
        return None
    try:
        return remote, start_snapshot_reads(remote, repo)
    except (Refused, OSError):
        return None  # the normal order reports it


def fast_status(opts: dict[str, str]) -> tuple[int, str]:
    """(exit code, JSON document or ""): the library calls of the full CLI's ``status`` command,
    with its checks of ``--repo`` and ``--remote`` and its error report."""
    from planner.workspace import repo_root

    remote = opts.get("--remote")
    root, problem = repo_root(opts.get("--repo", "."))  # as the --repo option's check in planner.cli.options
    if root is not None:
        opts = {**opts, "--repo": str(root)}
    early = start_reads_early(opts) if problem is None else None

    from planner.errors import PlannerError, report
    from planner.gitio import check_remote
    from planner.status import dump_json, status_document

    try:
        if root is None:
            raise PlannerError(problem or "not a git repository")
        if remote is not None:
            check_remote(remote)  # as the --remote option's check
        doc, warnings = status_document(
            root,
            component=opts.get("component"),
            env=opts.get("--env"),
            remote=remote,
            started=early[1] if early else None,
        )
    except PlannerError as exc:
        report(exc)
        return exc.exit_code, ""
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130, ""
    for w in warnings:
        print(w, file=sys.stderr)
    return 0, dump_json(doc)


def main() -> None:
    opts = parse_fast_status(sys.argv[1:])
    if opts is None:
        from planner.cli import main as cli_main

        cli_main()
        return
    # A short-lived process that allocates one object graph and exits: the cyclic GC would only
    # rescan it again and again (a third of the time on a 50,000-tag remote).
    gc.disable()
    code, out = fast_status(opts)
    from planner.fileio import finish_stdout, guard_stdout

    guard_stdout()  # a short write to a closed pipe is an error even with PYTHONUNBUFFERED=1
    code = finish_stdout(code, out)
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)  # done: skip freeing the object graph one object at a time
