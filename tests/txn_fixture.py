"""A real repository + bare remote + SQLite KV for apply tests; plans are compiled for real.

``build(root)`` -> TxnFixture. Components: prompts/extraction (v1.0.0, v1.1.0; staging and
production at v1.0.0, edgit-nested), prompts/summary (v1.0.0; staging at v1.0.0), agents/analyzer
(v1.0.0, v2.0.0; staging at v1.0.0). KV (sqlite, .planner/kv.sqlite) holds the staging and
production env keys with the v1.0.0 contents, as a previous sync would have left them.

``build(root, kv="cloudflare")`` keeps KV in Cloudflare instead (``[kv] store = "cloudflare"`` and
a wrangler.toml binding one namespace per environment; the ``CLOUDFLARE_*`` variables must point
at a server, e.g. tests/cfkv_server.py): every clone made with :func:`clone_checkout` then shares
that KV over real HTTP, as two CI runners share Cloudflare KV.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.config import load_config
from planner.kv.base import KVEntry
from planner.kv.bindings import NamespaceTarget, close_stores, open_stores
from planner.model import LEDGER_REF
from planner.plan.changes import ComputedPlan
from tests.gitrepo import GIT_ENV, EdgitRepo, git

ROOT = Path(__file__).resolve().parents[1]
ENVS = ("staging", "production")
EXT, SUMM, ANA = "components/prompts/extraction", "components/prompts/summary", "components/agents/analyzer"
# The plan most transaction tests apply: two promotions to staging (a prompt and the agent using it).
RELEASE = """plan "rel" {
  promote prompts/extraction v1.1.0 to staging
  promote agents/analyzer v2.0.0 to staging
}
"""


@dataclass
class TxnFixture:
    repo: EdgitRepo
    commits: dict[str, str]
    remote_url: str  # what apply pushes to (path, file:// or git://)
    opened: list[dict[str, NamespaceTarget]] = field(default_factory=list)  # closed by close()

    @property
    def work(self) -> Path:
        return self.repo.work

    def targets(self) -> dict[str, NamespaceTarget]:
        targets = open_stores(load_config(self.work), ENVS)
        self.opened.append(targets)
        return targets

    def close(self) -> None:
        """Close every store targets() opened (Cloudflare's HTTP connections)."""
        while self.opened:
            close_stores(self.opened.pop())

    def kv(self, env: str) -> dict[str, bytes]:
        targets = self.targets()
        try:
            store = targets[env].store
            return {k: e.value for k, e in store.get_many(store.list_keys("")).items()}
        finally:
            close_stores(targets)

    def plan(self, text: str, filename: str = "plans/test.plan") -> ComputedPlan:
        from planner.cli.apply import compile_and_plan

        return compile_and_plan(text, filename, repo=self.work, remote=self.remote_url)

    def kv_metadata(self, env: str) -> dict[str, dict[str, Any]]:
        targets = self.targets()
        try:
            store = targets[env].store
            return {k: dict(e.metadata) for k, e in store.get_many(store.list_keys("")).items()}
        finally:
            close_stores(targets)

    def snapshot(self) -> dict[str, Any]:
        """Everything apply may change: remote refs (tags + ledger) and every KV key and its metadata."""
        refs = self.repo.remote_refs()
        return {
            "refs": {r: o for r, o in refs.items() if r.startswith(("refs/tags/", "refs/planner/"))},
            "kv": {env: self.kv(env) for env in ENVS},
            "kv_metadata": {env: self.kv_metadata(env) for env in ENVS},
        }

    def peeled(self, ref: str) -> str:
        return git(self.repo.remote, "rev-parse", f"{ref}^{{commit}}")

    def ledger(self) -> str | None:
        return self.repo.remote_refs().get(LEDGER_REF)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, work: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``planner ARGS`` in the fixture's checkout (or in ``work``, another clone)."""
        full_env = {**os.environ, **GIT_ENV, **(env or {})}
        full_env["PYTHONPATH"] = str(ROOT)
        where = str(work or self.work)
        return subprocess.run(
            [sys.executable, "-m", "planner", *args, "--repo", where, "--remote", self.remote_url],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=120,
        )


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


SQLITE_CONFIG = 'remote = "origin"\n[kv]\nstore = "sqlite"\npath = ".planner/kv.sqlite"\n'
CLOUDFLARE_CONFIG = 'remote = "origin"\n[kv]\nstore = "cloudflare"\n'
# One namespace per environment ([env.X] sections, as wrangler deploys them).
WRANGLER = "".join(f'[[env.{e}.kv_namespaces]]\nbinding = "COMPONENTS_KV"\nid = "ns-{e}"\n' for e in ENVS)


def configure_checkout(work: Path, kv: str) -> None:
    """planner.toml (and wrangler.toml for Cloudflare) of a checkout, kept out of git's status."""
    if kv == "cloudflare":
        (work / "planner.toml").write_text(CLOUDFLARE_CONFIG)
        (work / "wrangler.toml").write_text(WRANGLER)
    else:
        (work / "planner.toml").write_text(SQLITE_CONFIG)
    (work / ".git/info/exclude").write_text(".planner/\nplanner.toml\nwrangler.toml\n")


def clone_checkout(fx: TxnFixture, name: str) -> Path:
    """Another clone of the remote next to the fixture's, sharing its Cloudflare KV."""
    work = fx.work.parent / name
    git(fx.work.parent, "clone", "-q", str(fx.repo.remote), str(work))
    configure_checkout(work, "cloudflare")
    return work


def build(root: Path, kv: str = "sqlite") -> TxnFixture:
    repo = EdgitRepo.create(root)
    c: dict[str, str] = {}
    c["ext1"] = repo.register("extraction", "prompt", "prompts/extraction.md", "Extract v1\n")
    c["summ1"] = repo.register("summary", "prompt", "prompts/summary.md", "Summarize v1\n")
    c["ana1"] = repo.register("analyzer", "agent-definition", "agents/analyzer.yaml", "model: a\n")
    repo.write("prompts/extraction.md", "Extract v1.1\n")
    c["ext11"] = repo.commit("extraction 1.1")
    repo.write("agents/analyzer.yaml", "model: b\n")
    c["ana2"] = repo.commit("analyzer 2")
    repo.tag_version(EXT, "v1.0.0", c["ext1"])
    repo.tag_version(EXT, "v1.1.0", c["ext11"])
    repo.set_env(EXT, "staging", "v1.0.0")
    repo.set_env(EXT, "production", "v1.0.0")
    repo.tag_version(SUMM, "v1.0.0", c["summ1"])
    repo.set_env(SUMM, "staging", "v1.0.0")
    repo.tag_version(ANA, "v1.0.0", c["ana1"])
    repo.tag_version(ANA, "v2.0.0", c["ana2"])
    repo.set_env(ANA, "staging", "v1.0.0")
    repo.push()
    configure_checkout(repo.work, kv)
    fx = TxnFixture(repo, c, str(repo.remote))
    t = fx.targets()
    t["staging"].store.put_many(
        [
            KVEntry("prompts/extraction@staging", b"Extract v1\n"),
            KVEntry("prompts/summary@staging", b"Summarize v1\n"),
            KVEntry("agents/analyzer@staging", b"model: a\n"),
        ]
    )
    t["production"].store.put_many([KVEntry("prompts/extraction@production", b"Extract v1\n")])
    close_stores(t)
    return fx


def cloudflare_fixture(root: Path, monkeypatch: Any) -> Iterator[TxnFixture]:
    """A fixture whose KV is the loopback Cloudflare double (``CLOUDFLARE_*`` set for this test
    and every planner process it starts), for tests where several clones share one KV."""
    from tests.cfkv_server import CFKVServer, cf_env

    with CFKVServer() as server:
        for name, value in cf_env(server).items():
            monkeypatch.setenv(name, value)
        fx = build(root, kv="cloudflare")
        try:
            yield fx
        finally:
            fx.close()


def write_plan_json(fx: TxnFixture, plan: ComputedPlan, name: str = "plan.json") -> Path:
    from planner.artifact import dump

    path = fx.work.parent / name
    path.write_text(dump(plan), encoding="utf-8")
    return path


def ledger_records(fx: TxnFixture) -> list[dict[str, Any]]:
    out = fx.cli("history", "--format", "json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["applies"])
