"""A deterministic fixture release for the dry-run tests: 5 components, 3 environments.

Commit and tag ids are reproducible (fixed author/committer dates), so golden files only need the
temporary path and the plan id (which covers the remote path) normalised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.kv.base import KVEntry, KVStore
from planner.kv.bindings import content_metadata
from planner.kv.sqlite import SqliteKV
from planner.model import ComponentRef, Version
from planner.steps import CreateVersion, MoveEnv, OrderedPlan, Step, Verify
from tests.gitrepo import EdgitRepo

DATES = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
ENVS = ("dev", "staging", "production")

EXT = "components/prompts/extraction"
ANA = "components/agents/analyzer"
INV = "components/schemas/invoice"
REP = "components/templates/report"
RTR = "logic/scripts/router"


@dataclass(frozen=True)
class Target:
    """Same shape as planner.kv.bindings.NamespaceTarget."""

    env: str
    store: KVStore
    layouts: Sequence[str]


@dataclass
class Release:
    repo: EdgitRepo
    c: dict[str, str]  # c1..c4
    kv_path: Path

    def targets(self) -> dict[str, Target]:
        layouts = {"production": ("{type}/{name}@{slot}", "components/{type}/{name}/{slot}")}
        return {
            env: Target(env, SqliteKV(self.kv_path, env), layouts.get(env, ("{type}/{name}@{slot}",))) for env in ENVS
        }


def _registry(invoice_path: str) -> str:
    comps = {
        "extraction": {"path": "prompts/extraction.md", "type": "prompt"},
        "analyzer": {"path": "agents/analyzer.yaml", "type": "agent-definition"},
        "invoice": {"path": invoice_path, "type": "schema"},
        "report": {"path": "templates/report.txt", "type": "template"},
        "router": {"path": "logic/router.ts", "type": "script"},
    }
    return json.dumps({"version": "3.0.0", "components": comps, "updated": "2026-01-01T00:00:00.000Z"}, indent=2) + "\n"


def build_release(root: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    for k, v in DATES.items():
        monkeypatch.setenv(k, v)
    r = EdgitRepo.create(root)
    r.write(".edgit/components.json", _registry("schemas/invoice.json"))
    r.write("prompts/extraction.md", "Extract the invoice fields.\nBe brief.\n")
    r.write("agents/analyzer.yaml", "name: analyzer\nprompt: prompts/extraction@staging\n")
    r.write("schemas/invoice.json", '{"type": "object"}\n')
    r.write("templates/report.txt", "Report for {{customer}}\n\n\n")  # trailing newlines kept
    r.write("logic/router.ts", "export const route = () => 'v0.9';\n")
    c1 = r.commit("components")
    r.write("prompts/extraction.md", "Extract the invoice fields.\nReturn JSON.\n")
    r.write("schemas/invoice.json", '{"type": "object", "required": ["total"]}\n')
    r.write("logic/router.ts", "export const route = () => 'v1.0';\n")
    c2 = r.commit("improve extraction, invoice, router")
    r.write("agents/analyzer.yaml", "name: analyzer\nprompt: prompts/extraction@staging\ntemperature: 0\n")
    c3 = r.commit("tune analyzer")
    # Rename the invoice schema: the registry at older commits still names the old path.
    (r.work / "schemas/invoice.json").unlink()
    r.write("schemas/invoice/schema.json", '{"type": "object", "required": ["total", "date"]}\n')
    r.write(".edgit/components.json", _registry("schemas/invoice/schema.json"))
    c4 = r.commit("move invoice schema")
    for prefix, version, commit in (
        (EXT, "v1.0.0", c1),
        (EXT, "v1.1.0", c2),
        (ANA, "v1.0.0", c1),
        (INV, "v0.9.0", c1),
        (INV, "v1.0.0", c2),
        (REP, "v1.0.0", c1),
        (RTR, "v0.9.0", c1),
        (RTR, "v1.0.0", c2),
    ):
        r.tag_version(prefix, version, commit)
    for prefix, env, version in (
        (EXT, "dev", "v1.1.0"),
        (EXT, "staging", "v1.0.0"),
        (EXT, "production", "v1.0.0"),
        (ANA, "dev", "v1.0.0"),
        (INV, "staging", "v1.0.0"),
        (INV, "production", "v1.0.0"),
        (REP, "staging", "v1.0.0"),
        (RTR, "dev", "v0.9.0"),
    ):
        r.set_env(prefix, env, version)
    r.push()
    rel = Release(r, {"c1": c1, "c2": c2, "c3": c3, "c4": c4}, root / "kv.sqlite")
    st = SqliteKV(rel.kv_path, "staging")
    report = b"Report for {{customer}}\n\n\n"
    written = content_metadata("templates/report", "v1.0.0", c1, report)  # as an earlier apply wrote them
    st.put_many(
        [
            KVEntry("prompts/extraction@staging", b"Extract the invoice fields.\nBe brief.\n"),
            KVEntry("templates/report@staging", report, written),
            KVEntry("templates/report@v1.0.0", report, written),
        ]
    )
    SqliteKV(rel.kv_path, "production").put_many(
        [KVEntry("schemas/invoice@production", b'{"type": "object", "required": ["total"]}\n')]
    )
    return rel


def ordered_plan(rel: Release, *, extra: Sequence[Step] = (), source: str = "plans/release.plan") -> OrderedPlan:
    c1, c2, c3 = rel.c["c1"], rel.c["c2"], rel.c["c3"]
    ext, ana = ComponentRef("prompts", "extraction"), ComponentRef("agents", "analyzer")
    inv, rep = ComponentRef("schemas", "invoice"), ComponentRef("templates", "report")
    rtr = ComponentRef("scripts", "router")
    v = Version.parse
    steps: list[Step] = [
        CreateVersion(ana, "components", v("v2.0.0"), c3, "main"),
        MoveEnv(ext, "components", "staging", v("v1.1.0"), c2, "copy", from_env="dev"),
        MoveEnv(inv, "components", "production", v("v0.9.0"), c1, "rollback"),
        MoveEnv(rep, "components", "staging", v("v1.0.0"), c1, "promote"),
        MoveEnv(rtr, "logic", "dev", v("v1.0.0"), c2, "promote"),
        MoveEnv(ana, "components", "dev", v("v2.0.0"), c3, "promote"),
        MoveEnv(ext, "components", "production", v("v1.1.0"), c2, "promote"),
        Verify("staging", "https://staging.example.test/health", 200, 30.0),
        *extra,
    ]
    levels = (
        tuple(sorted(s.id for s in steps[:5])),
        tuple(sorted(s.id for s in steps[5:7])),
        tuple(sorted(s.id for s in steps[7:])),
    )
    return OrderedPlan("release-1", "Fixture release", source, "ab" * 32, tuple(steps), levels)
