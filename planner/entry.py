"""The ``planner`` console script: a fast path for ``planner status --format json``, else Typer.

Typer (with pydantic, click and rich behind it) costs several hundred milliseconds to import,
more than reading a 10,000-tag remote. Scripts poll ``status --format json``, so that one
read-only command is parsed here by hand when its arguments are plain; anything else (help, other
commands, unusual spellings) and every error goes through the full CLI, which then prints and
exits exactly as it always does. Status is read-only, so re-running it on error is harmless.

On the fast path the two git reads start first (``planner.gitproc`` needs only the standard
library), the planner is imported while git works, and the process ends with ``os._exit`` once
the output is flushed: freeing the 10,000-tag object graph one object at a time is wasted work.
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
    as long, so they overlap instead of adding up. Only when the remote is known without reading
    ``planner.toml`` (given, or no config file: ``origin``); None means "start them later".
    """
    from planner.gitproc import Refused, start_snapshot_reads

    repo = opts.get("--repo", ".")
    remote = opts.get("--remote")
    if remote is None:
        if os.path.exists(os.path.join(repo, "planner.toml")):
            return None
        remote = "origin"
    try:
        return remote, start_snapshot_reads(remote, repo)
    except (Refused, OSError):
        return None  # the normal path reports it


def fast_status(opts: dict[str, str]) -> bool:
    """Print the status JSON; False (nothing printed) if anything went wrong."""
    early = start_reads_early(opts)
    from pathlib import Path

    from planner.errors import PlannerError
    from planner.status import dump_json, status_document

    remote, started = early if early else (opts.get("--remote"), None)
    try:
        doc, warnings = status_document(
            Path(opts.get("--repo", ".")),
            component=opts.get("component"),
            env=opts.get("--env"),
            remote=remote,
            started=started,
        )
    except PlannerError:
        return False
    for w in warnings:
        print(w, file=sys.stderr)
    sys.stdout.write(dump_json(doc))
    return True


def main() -> None:
    opts = parse_fast_status(sys.argv[1:])
    if opts is not None:
        # A short-lived process that allocates one object graph and exits: the cyclic GC would
        # only rescan it again and again (a third of the time on a 50,000-tag remote).
        gc.disable()
        if fast_status(opts):
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except OSError:  # e.g. a closed pipe
                os._exit(1)
            os._exit(0)  # done: skip freeing the object graph one object at a time
    from planner.cli import main as cli_main

    cli_main()
