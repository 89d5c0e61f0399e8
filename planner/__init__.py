"""Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction.

The pipeline's stages are modules of this package (see docs/architecture.md); this top-level module
stays import-free so the command line starts fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("release-planner")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
