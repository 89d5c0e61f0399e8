"""Release Planner: compile release plans into git tag moves and KV writes; apply them as one transaction.

The pipeline's stages are modules of this package (see docs/architecture.md); this top-level module
imports nothing, so every command starts fast. The version lives here, the one place pyproject.toml
reads it from (``[tool.setuptools.dynamic]``), so ``planner --version`` needs no importlib.metadata.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
