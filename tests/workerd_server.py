"""workerd's real Workers KV (through miniflare) behind Cloudflare's KV REST API, on 127.0.0.1.

``tests/workerd/serve.mjs`` starts miniflare (workerd plus its local KV storage) with the REST shim
``tests/workerd/kv_rest_shim.mjs``; the shim speaks the endpoints planner.kv.cloudflare uses. The npm
packages live in ``.ci/node`` (installed by ``.ci/run``). A missing install is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

from tests.cfkv_server import ACCOUNT, TOKEN

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = ROOT / ".ci" / "node"
SHIM_DIR = Path(__file__).resolve().parent / "workerd"
INSTALL_HINT = "run: npm install --prefix .ci/node miniflare@4.20260730.0 (as .ci/run does)"


class WorkerdMissing(RuntimeError):
    """node or the miniflare/workerd npm packages are not installed."""


class WorkerdKV:
    """``with WorkerdKV() as w: w.url`` -> ``http://127.0.0.1:PORT/client/v4``; stopped by process id."""

    def __init__(self, start_timeout: float = 30.0) -> None:
        self._timeout = start_timeout
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> WorkerdKV:
        node = shutil.which("node")
        if node is None:
            raise WorkerdMissing(f"node is not on PATH; {INSTALL_HINT}")
        if not (NODE_PREFIX / "node_modules" / "miniflare" / "package.json").is_file():
            raise WorkerdMissing(f"miniflare is not installed in {NODE_PREFIX}; {INSTALL_HINT}")
        argv = [node, str(SHIM_DIR / "serve.mjs"), str(NODE_PREFIX), str(SHIM_DIR / "kv_rest_shim.mjs"), TOKEN, ACCOUNT]
        # Own process group: miniflare's workerd child goes down with it when stopped by pid.
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._stdout().readline()), daemon=True)
        reader.start()
        reader.join(self._timeout)
        if not line or not line[0].startswith("http://127.0.0.1:"):
            err = self._stop()
            raise RuntimeError(f"workerd did not start within {self._timeout}s: {err.strip()[-2000:]}")
        self.url = line[0].strip()
        return self

    def _stdout(self) -> IO[str]:
        assert self._proc is not None and self._proc.stdout is not None
        return self._proc.stdout

    def _stop(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group we started, by its id
        except ProcessLookupError:
            pass
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        return err or ""

    def __exit__(self, *exc: object) -> None:
        self._stop()
