"""`planner validate` against a fixture repository with every kind of broken reference.

Real repository + bare remote + SQLite KV (tests/txn_fixture.py): prompts/extraction (v1.0.0,
v1.1.0; staging and production at v1.0.0), prompts/summary (staging), agents/analyzer (staging).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from planner.cli import run
from planner.config import load_config
from planner.errors import Diagnostic
from planner.gitio import Remote, Repo
from planner.kv.base import KVEntry, KVStore
from planner.registry import load_registry
from planner.state import snapshot
from planner.validate import Target, config_targets, scan, validate
from tests.gitrepo import GIT_ENV
from tests.txn_fixture import TxnFixture, build

PIPELINE = """\
name: pipeline
steps:
  - prompt: prompts/extraction@staging
  - prompt: prompts/extracton@staging
  - schema: schemas/invoice@v1.0.0
  - prompt: prompts/extraction@v9.9.9
  - prompt: prompts/extraction@canary
  - prompt: prompts/summary@production
  - prompt: prompts/summary@staging
  - agent: agent://analyzer@staging
  - prompt: extraction@production
  - prompt: "Summarize the text below"
uses:
  - prompts/extraction
  - prompts/nope
"""


def pos(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column of the nth occurrence of ``needle``: where the scanner must point."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TxnFixture:
    for k, v in GIT_ENV.items():
        monkeypatch.setenv(k, v)
    f = build(tmp_path)
    f.repo.write("ensembles/pipeline.yaml", PIPELINE)
    f.repo.write("configs/broken.yml", "a: [1, 2\nb: 3\n")
    staging = f.targets()["staging"].store
    staging.delete_many(["prompts/summary@staging"])  # never synced
    staging.put_many([KVEntry("agents/analyzer@staging", b"model: tampered\n")])  # edited by hand
    monkeypatch.chdir(f.work)
    return f


def diags_of(fx: TxnFixture, env: str | None = None, paths: Sequence[Path] = ()) -> list[Diagnostic]:
    cfg = load_config(fx.work)
    report = validate(
        fx.work,
        list(paths),
        registry=load_registry(fx.work),
        state=snapshot(Repo(fx.work), Remote(fx.remote_url)),
        env=env,
        open_targets=config_targets(cfg),
    )
    return report.diagnostics


def at(d: Diagnostic) -> tuple[str, int, int]:
    assert d.span is not None
    return d.span.file, d.span.line, d.span.column


def test_every_kind_of_broken_reference_with_message_and_position(fx: TxnFixture) -> None:
    found = {(at(d), d.message) for d in diags_of(fx)}
    f = "ensembles/pipeline.yaml"
    expected = {
        (
            (f, *pos(PIPELINE, "prompts/extracton@")),
            "unregistered component prompts/extracton (did you mean 'prompts/extraction'?)",
        ),
        ((f, *pos(PIPELINE, "schemas/invoice@")), "unregistered component schemas/invoice"),
        (
            (f, *pos(PIPELINE, "prompts/extraction@v9.9.9")),
            "version v9.9.9 of prompts/extraction has no tag on the remote; the remote has v1.0.0, v1.1.0",
        ),
        (
            (f, *pos(PIPELINE, "prompts/extraction@canary")),
            "environment 'canary' of prompts/extraction has no env tag on the remote; it has production, staging",
        ),
        (
            (f, *pos(PIPELINE, "prompts/summary@production")),
            "environment 'production' of prompts/summary has no env tag on the remote; it has staging",
        ),
        (
            (f, *pos(PIPELINE, "prompts/summary@staging")),
            "KV key 'prompts/summary@staging' is missing in staging: prompts/summary staging (v1.0.0) was never synced",
        ),
        ((f, *pos(PIPELINE, "prompts/nope")), "unregistered component prompts/nope"),
        (("configs/broken.yml", 2, 2), "malformed YAML: expected ',' or ']', but got ':'"),
    }
    differs = [m for (_, m) in found if m.startswith("KV key 'agents/analyzer@staging' in staging differs")]
    assert len(differs) == 1 and differs[0].endswith("works locally but not in production")
    where = [a for (a, m) in found if m.startswith("KV key 'agents/analyzer@staging'")]
    assert where == [(f, *pos(PIPELINE, "agent://analyzer@staging"))]
    assert {x for x in found if not x[1].startswith("KV key 'agents/")} == expected
    # the good references produce nothing: extraction@staging (synced), extraction@production (key-implied)
    lines = {a[1] for (a, _) in found}
    assert pos(PIPELINE, "prompts/extraction@staging")[0] not in lines
    assert pos(PIPELINE, "extraction@production")[0] not in lines


def test_env_option_checks_slotless_and_version_references_in_that_env(fx: TxnFixture) -> None:
    text = "agent: prompt://extraction\nold: prompts/extraction@v1.0.0\nnew: prompts/extraction@v1.1.0\n"
    fx.repo.write("agents/runtime.yaml", text)
    got = [(at(d), d.message) for d in diags_of(fx, env="production", paths=[fx.work / "agents/runtime.yaml"])]
    # prompt://extraction resolves to production (synced); the version keys were never written there
    assert got == [
        (
            ("agents/runtime.yaml", 2, 6),
            "KV key 'prompts/extraction@v1.0.0' is missing in production: prompts/extraction v1.0.0 was never synced",
        ),
        (
            ("agents/runtime.yaml", 3, 6),
            "KV key 'prompts/extraction@v1.1.0' is missing in production: prompts/extraction v1.1.0 was never synced",
        ),
    ]


class CountingStore:
    def __init__(self, inner: KVStore, calls: list[tuple[str, int]], env: str) -> None:
        self.inner, self.calls, self.env = inner, calls, env
        self.name = inner.name

    def get_many(self, keys: Sequence[str]) -> dict[str, KVEntry]:
        self.calls.append((self.env, len(keys)))
        return self.inner.get_many(keys)

    def put_many(self, entries: object) -> None:
        raise AssertionError("validate must not write")

    def delete_many(self, keys: object) -> None:
        raise AssertionError("validate must not delete")

    def list_keys(self, prefix: str = "") -> list[str]:
        raise AssertionError("validate must not list")


def test_one_get_many_per_namespace(fx: TxnFixture) -> None:
    calls: list[tuple[str, int]] = []
    inner = config_targets(load_config(fx.work))

    def counting(envs: Sequence[str]) -> tuple[dict[str, Target], list[Diagnostic]]:
        targets, problems = inner(envs)
        return {e: Target(CountingStore(t.store, calls, e), t.layouts) for e, t in targets.items()}, problems  # type: ignore[arg-type]

    validate(
        fx.work,
        [],
        registry=load_registry(fx.work),
        state=snapshot(Repo(fx.work), Remote(fx.remote_url)),
        env=None,
        open_targets=counting,
    )
    # staging: extraction, summary, analyzer keys in one read; production: extraction in one read
    assert sorted(calls) == [("production", 1), ("staging", 3)]


def test_cli_exit_codes_and_github_annotations(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--remote", fx.remote_url]) == 1
    out = capsys.readouterr()
    line, col = pos(PIPELINE, "prompts/extracton@")
    assert f"ensembles/pipeline.yaml:{line}:{col}: error: unregistered component prompts/extracton" in out.out
    assert "\n    " + " " * (col - 1) + "^" + "~" * 24 + "\n" in out.out  # the caret under the reference
    assert "validated" in out.err and "9 error(s)" in out.err
    assert run(["validate", "--format", "github", "--remote", fx.remote_url]) == 1
    gh = capsys.readouterr().out.splitlines()
    assert (
        f"::error file=ensembles/pipeline.yaml,line={line},col={col}::unregistered component prompts/extracton"
        " (did you mean 'prompts/extraction'?)" in gh
    )
    # a clean file passes
    fx.repo.write("ok/ensemble.yaml", "steps:\n  - prompt: prompts/extraction@production\n")
    assert run(["validate", "ok", "--remote", fx.remote_url]) == 0
    assert "0 error(s)" in capsys.readouterr().err


def test_unknown_env_and_format_are_errors(fx: TxnFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--format", "xml", "--remote", fx.remote_url]) == 1
    assert "Invalid value for '--format': 'xml' is not one of 'text', 'github'." in capsys.readouterr().err
    assert run(["validate", "--env", "-x", "--remote", fx.remote_url]) == 1
    assert "starts with '-'" in capsys.readouterr().err


def test_scan_recognises_forms_and_ignores_look_alikes() -> None:
    text = (
        "a: prompts/x@staging\n"
        "b: schema://inv@v1.0.0\n"
        "c: promts/extraction@staging\n"
        "prompt: x\n"
        "schema: 3\n"
        "config: ./app.json\n"
        "uses: actions/checkout@v4\n"
        "tool: [search, 'fetch@production']\n"
    )
    got = [(r.span.line, r.span.column, str(r.ref), r.slot) for r in scan("f.yaml", text)]
    assert got == [
        (1, 4, "prompts/x", "staging"),
        (2, 4, "schemas/inv", "v1.0.0"),
        (4, 9, "prompts/x", None),
        (8, 8, "tools/search", None),
        (8, 16, "tools/fetch", "production"),
    ]


def test_cloudflare_store_over_loopback_http(
    fx: TxnFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cfkv_server import CFKVServer, cf_env, cf_store

    with CFKVServer() as server:
        for k, v in cf_env(server).items():
            monkeypatch.setenv(k, v)
        fx.repo.write(
            "wrangler.toml",
            '[[kv_namespaces]]\nbinding = "COMPONENTS_KV"\nid = "top"\n'
            '[env.staging]\nkv_namespaces = [{ binding = "COMPONENTS_KV", id = "stg-ns" }]\n'
            '[env.production]\nkv_namespaces = [{ binding = "COMPONENTS_KV", id = "prod-ns" }]\n',
        )
        fx.repo.write("planner.toml", 'environments = ["staging", "production"]\n[kv]\nstore = "cloudflare"\n')
        assert run(["sync", "--remote", fx.remote_url]) == 0
        store = cf_store(server, "stg-ns")
        store.put_many([KVEntry("prompts/summary@staging", b"edited in the dashboard\n")])
        store.close()
        text = (
            "a: prompts/extraction@staging\nb: prompts/extraction@production\n"
            "c: agents/analyzer@staging\nd: prompts/summary@staging\n"
        )
        fx.repo.write("ok/refs.yaml", text)
        capsys.readouterr()
        server.reset_counts()
        assert run(["validate", "ok", "--remote", fx.remote_url]) == 1
        out = capsys.readouterr().out
        assert out.count(": error: ") == 1
        assert "ok/refs.yaml:4:4: error: KV key 'prompts/summary@staging' in staging differs" in out
        # one get_many (bulk read) per namespace; the hand-edited value carries no content hash, so
        # the store reads that one raw (values + metadata); nothing is written
        assert dict(server.state.requests) == {"POST bulk/get": 2, "GET values": 1, "GET metadata": 1}
