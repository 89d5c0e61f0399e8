"""Real git repositories for tests: a work tree with tags written exactly as edgit writes them,
and a bare remote (optionally served by ``git daemon`` on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ADVICE": "0",
}


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        ["git", "-c", "advice.nestedTag=false", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode().strip()


@dataclass
class EdgitRepo:
    """A work tree (``work``) whose ``origin`` is the bare repository ``remote``."""

    work: Path
    remote: Path

    @classmethod
    def create(cls, root: Path) -> EdgitRepo:
        remote = root / "remote.git"
        work = root / "work"
        git(root, "init", "-q", "--bare", "-b", "main", str(remote))
        git(root, "init", "-q", "-b", "main", str(work))
        git(work, "remote", "add", "origin", str(remote))
        repo = cls(work, remote)
        repo.write(
            ".edgit/components.json",
            json.dumps({"version": "3.0.0", "components": {}, "updated": "2026-01-01T00:00:00.000Z"}, indent=2) + "\n",
        )
        repo.commit("init")
        return repo

    def write(self, path: str, content: str | bytes) -> None:
        p = self.work / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def register(self, name: str, type_: str, path: str, content: str | bytes) -> str:
        """Add a component to .edgit/components.json with its file, commit, return the commit."""
        reg_file = self.work / ".edgit/components.json"
        reg = json.loads(reg_file.read_text())
        reg["components"][name] = {"path": path, "type": type_}
        self.write(".edgit/components.json", json.dumps(reg, indent=2) + "\n")
        self.write(path, content)
        return self.commit(f"add {name}")

    def tag_version(self, tag_prefix: str, version: str, commit: str = "HEAD") -> None:
        """edgit `tag create`: annotated tag `Release {name} {version}` at a commit."""
        name = tag_prefix.split("/")[2]
        git(self.work, "tag", "-a", f"{tag_prefix}/{version}", "-m", f"Release {name} {version}", commit)

    def set_env(self, tag_prefix: str, env: str, target: str, nested: bool = True) -> None:
        """edgit `tag set`: env tag nested on the version tag object (nested=True, as edgit does)
        or pointing straight at the version's commit (nested=False, as the planner writes)."""
        name = tag_prefix.split("/")[2]
        obj = f"{tag_prefix}/{target}" if nested else f"{tag_prefix}/{target}^{{commit}}"
        git(self.work, "tag", "-f", "-a", f"{tag_prefix}/{env}", "-m", f"Set {name} to {env}", obj)

    def push(self) -> None:
        git(self.work, "push", "-q", "--force", "origin", "main", "refs/tags/*:refs/tags/*")

    def remote_refs(self) -> dict[str, str]:
        out = git(self.remote, "for-each-ref", "--format=%(objectname) %(refname)")
        return {ref: oid for oid, ref in (line.split(" ", 1) for line in out.splitlines() if line)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """Serve every repository under ``base`` over git:// on 127.0.0.1 (push enabled); stop by pid."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("git daemon did not start") from None
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
