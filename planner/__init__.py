"""Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction.

The pipeline's stages are modules of this package (see docs/architecture.md); this top-level module
imports nothing, so every command starts fast.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata alone costs tens of milliseconds at start-up.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("release-planner")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0"
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
