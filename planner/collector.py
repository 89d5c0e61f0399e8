"""Pausing Python's cyclic garbage collector around bulk builds of acyclic objects.

Compiling a 10,000-statement plan and snapshotting 50,000 tags allocate many small objects, none
in a cycle: the collector's passes over the growing heap free nothing and cost 15-35% (and made
compiling superlinear; bench/README.md). Paused for the build, resumed after (cycles made
meanwhile are collected then).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector; resume it after only if this call paused it (nesting is safe)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
