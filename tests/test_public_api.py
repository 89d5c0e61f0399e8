"""The package's public surface and its start-up cost, pinned."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import planner


def test_top_level_api_is_pinned() -> None:
    assert planner.__all__ == ["__version__"]
    assert planner.__version__ == importlib.metadata.version("release-planner")


def test_cli_import_does_not_load_heavy_libraries() -> None:
    # Every command pays for what `planner.cli` imports; networkx (ordering), lark (the compiler) and
    # httpx (Cloudflare, verify) are loaded only by the commands that use them.
    code = "import sys, planner.cli; print(' '.join(m for m in ('networkx', 'httpx', 'lark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_every_declared_dependency_is_imported_by_the_planner() -> None:
    """A declared runtime dependency that nothing imports is a defect (it was GitPython's case)."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    modules = {"pyyaml": "yaml"}
    source = "\n".join(p.read_text(encoding="utf-8") for p in (root / "planner").rglob("*.py"))
    for dep in deps:
        name = re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower()
        module = modules.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(import {module}\b|from {module}(\.| import))", source, re.M), (
            f"{name} is never imported"
        )
