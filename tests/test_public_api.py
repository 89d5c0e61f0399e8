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
