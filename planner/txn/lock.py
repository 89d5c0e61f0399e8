"""An advisory lock per checkout (fcntl.flock): two applies in one checkout cannot run at once.

Across machines the per-ref expected-value checks of the push are the lock, so nothing can leak:
the kernel drops a flock when its process dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from planner.txn.errors import LockedError


@contextmanager
def checkout_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"another apply or recover is running in this checkout (lock: {directory / 'lock'})"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the flock
