"""A threaded HTTP server on 127.0.0.1 that a test double serves from, started and stopped by
``with``: the shared part of the Cloudflare KV double and the GitHub REST double."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer:
    """``handler`` serves requests; it reaches ``state`` as ``self.server.state``."""

    path = ""  # the API's base path, appended to the URL

    def __init__(self, handler: type[BaseHTTPRequestHandler], state: Any, server: type[ThreadingHTTPServer]) -> None:
        self.state = state
        self._httpd = server(("127.0.0.1", 0), handler)
        self._httpd.state = state  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
