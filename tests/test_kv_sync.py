"""`planner sync`, `planner kv get|ls|diff` against a real bare remote, SQLite and loopback Cloudflare."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.cli import run
from planner.config import load_config
from planner.gitio import Remote, Repo
from planner.kv.base import KVEntry
from planner.kv.bindings import close_stores, open_stores
from planner.kv.sqlite import SqliteKV
from planner.kv.sync import compare, desired_keys, write
from planner.state import snapshot
from tests.cfkv_server import CFKVServer, cf_env
from tests.gitrepo import EdgitRepo, git
from tests.kv_bigrepo import many_components

P = "components/prompts/extraction"
A = "components/agents/analyzer"


@pytest.fixture
def repo(edgit_repo: EdgitRepo) -> EdgitRepo:
    r = edgit_repo
    r.register("extraction", "prompt", "prompts/extraction.md", "extract v1\n")
    r.tag_version(P, "v1.0.0")
    r.register("analyzer", "agent-definition", "agents/analyzer.yaml", "name: analyzer\n")
    r.tag_version(A, "v2.0.0")
    r.write("prompts/extraction.md", "extract v1.1 ü\n")
    r.commit("v1.1")
    r.tag_version(P, "v1.1.0")
    r.set_env(P, "staging", "v1.1.0")  # nested, as edgit writes it
    r.set_env(P, "production", "v1.0.0", nested=False)
    r.set_env(A, "staging", "v2.0.0")
    r.write("planner.toml", 'environments = ["staging", "production"]\n')
    r.push()
    return r


def db(r: EdgitRepo, env: str) -> SqliteKV:
    return SqliteKV(r.work / ".planner/kv.sqlite", env)


def test_sync_writes_env_and_version_keys(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sync", "--repo", str(repo.work), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "create   staging      prompts/extraction@staging" in out
    assert db(repo, "staging").list_keys() == []  # dry run wrote nothing
    assert run(["sync", "--repo", str(repo.work)]) == 0
    staging = db(repo, "staging").get_many(
        ["prompts/extraction@staging", "prompts/extraction@v1.1.0", "agents/analyzer@staging", "agents/analyzer@v2.0.0"]
    )
    assert staging["prompts/extraction@staging"].value == "extract v1.1 ü\n".encode()
    meta = staging["prompts/extraction@v1.1.0"].metadata
    assert meta["component"] == "prompts/extraction" and meta["version"] == "v1.1.0"
    assert meta["sha256"] == hashlib.sha256("extract v1.1 ü\n".encode()).hexdigest()
    assert meta["commit"] == git(repo.work, "rev-parse", f"{P}/v1.1.0^{{commit}}")
    assert staging["agents/analyzer@v2.0.0"].value == b"name: analyzer\n"
    assert db(repo, "production").list_keys() == ["prompts/extraction@production", "prompts/extraction@v1.0.0"]
    assert (
        db(repo, "production").get_many(["prompts/extraction@production"])["prompts/extraction@production"].value
        == b"extract v1\n"
    )
    capsys.readouterr()
    # a second sync finds nothing to do; kv diff agrees
    assert run(["kv", "diff", "--repo", str(repo.work)]) == 0
    assert run(["sync", "--repo", str(repo.work)]) == 0
    assert "0 key(s) differ, 6 in sync" in capsys.readouterr().err


def test_sync_dry_run_json_is_stdout_only(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sync", "--dry-run", "--format", "json", "--env", "production", "--repo", str(repo.work)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(k["key"], k["action"], k["old_sha256"]) for k in out["keys"]] == [
        ("prompts/extraction@production", "create", None),
        ("prompts/extraction@v1.0.0", "create", None),
    ]
    assert out["in_sync"] == 0
    assert db(repo, "production").list_keys() == []


def test_diff_reports_drift_and_sync_repairs_it(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sync", "--repo", str(repo.work)]) == 0
    db(repo, "staging").put_many([KVEntry("prompts/extraction@staging", b"tampered")])
    prod_meta = dict(
        db(repo, "production").get_many(["prompts/extraction@v1.0.0"])["prompts/extraction@v1.0.0"].metadata
    )
    db(repo, "production").put_many(
        [KVEntry("prompts/extraction@v1.0.0", b"extract v1\n", {**prod_meta, "commit": "x"})]
    )
    db(repo, "production").delete_many(["prompts/extraction@production"])
    capsys.readouterr()
    assert run(["kv", "diff", "--repo", str(repo.work), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    got = {(k["env"], k["key"]): k["action"] for k in report["keys"]}
    assert got == {
        ("staging", "prompts/extraction@staging"): "update",
        ("production", "prompts/extraction@v1.0.0"): "metadata",
        ("production", "prompts/extraction@production"): "create",
    }
    assert report["in_sync"] == 3
    assert run(["sync", "prompts/extraction", "--env", "staging", "--repo", str(repo.work)]) == 0
    assert (
        db(repo, "staging").get_many(["prompts/extraction@staging"])["prompts/extraction@staging"].value != b"tampered"
    )
    assert run(["kv", "diff", "--env", "production", "--repo", str(repo.work)]) == 2  # production untouched
    assert run(["sync", "--repo", str(repo.work)]) == 0
    assert run(["kv", "diff", "--repo", str(repo.work)]) == 0


def test_kv_get_and_ls(repo: EdgitRepo, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert run(["sync", "--repo", str(repo.work)]) == 0
    capsysbinary.readouterr()
    assert run(["kv", "get", "prompts/extraction@staging", "--repo", str(repo.work)]) == 0
    assert capsysbinary.readouterr().out == "extract v1.1 ü\n".encode()
    assert run(["kv", "get", "prompts/extraction@v1.0.0", "--env", "production", "--repo", str(repo.work)]) == 0
    assert capsysbinary.readouterr().out == b"extract v1\n"
    assert run(["kv", "get", "prompts/extraction@v1.0.0", "--repo", str(repo.work)]) == 1
    assert b"needs --env" in capsysbinary.readouterr().err
    assert run(["kv", "get", "prompts/nope@staging", "--repo", str(repo.work)]) == 1
    assert b"prompts/nope@staging is not in sqlite:" in capsysbinary.readouterr().err
    assert run(["kv", "get", "prompts/-x@staging", "--repo", str(repo.work)]) == 1
    assert b"starts with '-'" in capsysbinary.readouterr().err
    assert run(["kv", "ls", "agents/", "--repo", str(repo.work)]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "agents/analyzer@staging\nagents/analyzer@v2.0.0\n" in out
    assert "# production" in out and out.count("agents/") == 2


def test_unknown_component_is_a_clear_error(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sync", "prompts/missing", "--repo", str(repo.work)]) == 1
    assert "prompts/missing has no tags on the remote" in capsys.readouterr().err


def test_sync_to_cloudflare_with_two_layouts(repo: EdgitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    with CFKVServer() as server:
        for k, v in cf_env(server).items():
            monkeypatch.setenv(k, v)
        repo.write(
            "wrangler.jsonc",
            '{ // app\n "kv_namespaces": [{"binding": "COMPONENTS_KV", "id": "top"}],\n'
            ' "env": {"staging": {"kv_namespaces": [{"binding": "COMPONENTS_KV", "id": "stg-ns",},]}}}\n',
        )
        repo.write(
            "planner.toml",
            'environments = ["staging"]\n[kv.env.staging]\nstore = "cloudflare"\n'
            'layouts = ["{type}/{name}@{slot}", "components/{type}/{name}/{slot}"]\n',
        )
        assert run(["sync", "--repo", str(repo.work)]) == 0
        assert server.count("PUT bulk") == 1
        keys = sorted(server.state.data["stg-ns"])
        assert keys == sorted(
            [
                "prompts/extraction@staging",
                "prompts/extraction@v1.1.0",
                "agents/analyzer@staging",
                "agents/analyzer@v2.0.0",
                "components/prompts/extraction/staging",
                "components/prompts/extraction/v1.1.0",
                "components/agents/analyzer/staging",
                "components/agents/analyzer/v2.0.0",
            ]
        )
        server.reset_counts()
        assert run(["kv", "diff", "--repo", str(repo.work)]) == 0
        assert server.count("POST bulk/get") == 1 and server.count("GET values") == 0


@pytest.fixture
def cf_server() -> Iterator[CFKVServer]:
    with CFKVServer() as s:
        yield s


@pytest.mark.slow
def test_sync_20000_keys_is_two_bulk_writes(tmp_path: Path, cf_server: CFKVServer) -> None:
    r = many_components(tmp_path, 10_000)
    (r.work / "wrangler.toml").write_text('[[kv_namespaces]]\nbinding = "COMPONENTS_KV"\nid = "big"\n')
    (r.work / "planner.toml").write_text('[kv]\nstore = "cloudflare"\nwrangler_env = ""\n')
    cfg = load_config(r.work)
    targets = open_stores(cfg, ["staging"], environ=cf_env(cf_server))
    state = snapshot(Repo(r.work), Remote("origin"))
    desired = desired_keys(r.work, state, targets)
    assert len(desired) == 20_000
    statuses = compare(desired, targets)
    assert write(desired, statuses, targets) == 20_000
    assert cf_server.count("PUT bulk") == 2
    assert len(cf_server.state.data["big"]) == 20_000
    close_stores(targets)


def _cf_toml(repo: EdgitRepo) -> None:
    repo.write("wrangler.jsonc", '{"kv_namespaces": [{"binding": "COMPONENTS_KV", "id": "stg-ns"}]}\n')
    repo.write("planner.toml", 'environments = ["staging"]\n[kv.env.staging]\nstore = "cloudflare"\n')


def test_kv_ls_never_prints_a_token_the_server_echoes(
    repo: EdgitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cfkv_server import TOKEN, Fault

    _cf_toml(repo)
    with CFKVServer() as server:
        for k, v in cf_env(server).items():
            monkeypatch.setenv(k, v)
        server.fault(Fault("echo_auth", endpoint="keys"))
        assert run(["kv", "ls", "--repo", str(repo.work)]) == 1
    out, err = capsys.readouterr()
    assert "Authentication error: got ***" in err
    assert TOKEN not in out + err


def test_kv_ls_non_ascii_token_is_a_clear_error(
    repo: EdgitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cf_toml(repo)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SEKRETé")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc123")
    assert run(["kv", "ls", "--repo", str(repo.work)]) == 1
    out, err = capsys.readouterr()
    assert "CLOUDFLARE_API_TOKEN contains characters that cannot be sent in an HTTP header" in err
    assert "SEKRET" not in out + err and "Traceback" not in err


def test_sync_and_diff_on_the_demo_repo_with_a_manifest_only_component(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # agents/analyzer is declared only by agents/analyzer/component.yaml, not in .edgit/components.json
    from planner.demo import build_demo_repo

    work = build_demo_repo(tmp_path / "demo").work
    assert "analyzer" not in (work / ".edgit/components.json").read_text()
    assert run(["sync", "--dry-run", "--format", "json", "--repo", str(work)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problems"] == []
    keys = {(k["env"], k["key"]) for k in out["keys"]}
    assert ("production", "agents/analyzer@production") in keys and ("production", "agents/analyzer@v1.0.0") in keys
    assert ("staging", "agents/analyzer@staging") in keys  # staging points at an unversioned commit
    assert run(["kv", "diff", "--repo", str(work)]) == 2
    assert "agents/analyzer@v1.0.0" in capsys.readouterr().out
    assert run(["sync", "--repo", str(work)]) == 0
    stg = SqliteKV(work / ".planner/kv.sqlite", "staging").get_many(["agents/analyzer@staging"])
    assert stg["agents/analyzer@staging"].value == (work / "agents/analyzer/analyzer.yaml").read_bytes()
    assert run(["kv", "diff", "--repo", str(work)]) == 0


def test_one_unknown_component_does_not_block_the_others(repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    ghost = "components/prompts/ghost"  # tagged on the remote, declared in no registry
    repo.tag_version(ghost, "v1.0.0")
    repo.set_env(ghost, "staging", "v1.0.0")
    repo.push()
    assert run(["sync", "--repo", str(repo.work)]) == 1
    captured = capsys.readouterr()
    assert "warning: prompts/ghost in staging: not in the registry at " in captured.err
    assert "1 component/environment pair(s) were not synced" in captured.err
    assert "prompts/ghost" not in captured.out
    staging = db(repo, "staging").list_keys()
    assert "prompts/extraction@staging" in staging and "agents/analyzer@v2.0.0" in staging
    assert not any(k.startswith("prompts/ghost") for k in staging)
    assert db(repo, "production").list_keys() == ["prompts/extraction@production", "prompts/extraction@v1.0.0"]
    # diff: the others are in sync, the unknown one still makes it fail (exit 1, not 0)
    assert run(["kv", "diff", "--format", "json", "--repo", str(repo.work)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["keys"] == [] and len(out["problems"]) == 1 and out["problems"][0].startswith("prompts/ghost in staging")
