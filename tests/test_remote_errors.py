"""Remote problems are sentences: an unknown remote name lists the configured remotes with a
did-you-mean; unreachable, authentication failed and not a repository are told apart, with git's
own line kept as detail."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from planner.cli import run
from tests.gitrepo import EdgitRepo, free_port, git


class _AuthRequired(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def repo(tmp_path: Path) -> EdgitRepo:
    r = EdgitRepo.create(tmp_path)
    git(r.work, "remote", "add", "upstream", str(tmp_path / "elsewhere.git"))
    return r


def status_error(repo: EdgitRepo, remote: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["status", "--remote", remote, "--repo", str(repo.work)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_unknown_remote_name_lists_the_configured_ones(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    err = status_error(repo, "orign", capsys)
    assert err == "error: unknown remote 'orign' (did you mean 'origin'?); configured remotes: origin, upstream\n"
    err = status_error(repo, "fork", capsys)
    assert err == "error: unknown remote 'fork'; configured remotes: origin, upstream\n"


def test_not_a_repository(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    err = status_error(repo, "upstream", capsys)
    assert err.startswith(
        "error: the remote upstream is not a git repository, or it does not exist\n  git said: fatal: "
    )
    assert "elsewhere.git' does not appear to be a git repository" in err


def test_unreachable(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/x.git"  # nothing listens there
    err = status_error(repo, url, capsys)
    assert err.startswith(f"error: cannot reach the remote {url} (network or host down)\n  git said: fatal: ")


def test_authentication_failed(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.git"
        err = status_error(repo, url, capsys)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert err.startswith(f"error: authentication to the remote {url} failed")
    assert "git said: fatal: " in err
