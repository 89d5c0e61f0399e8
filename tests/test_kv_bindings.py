from __future__ import annotations

from pathlib import Path

import pytest

from planner.config import load_config
from planner.errors import DiagnosticError
from planner.kv.base import KVEntry
from planner.kv.bindings import (
    BindingError,
    content_metadata,
    open_stores,
    read_wrangler,
    resolve_namespace_id,
)
from planner.kv.cloudflare import CloudflareKV
from planner.kv.sqlite import SqliteKV

CF_ENV = {"CLOUDFLARE_API_TOKEN": "t0k", "CLOUDFLARE_ACCOUNT_ID": "acc"}

WRANGLER_TOML = """
name = "app"
[[kv_namespaces]]
binding = "COMPONENTS_KV"
id = "top-id"
preview_id = "top-preview"

[env.staging]
[[env.staging.kv_namespaces]]
binding = "COMPONENTS_KV"
id = "staging-id"

[env.production]
name = "app-prod"
"""

WRANGLER_JSONC = """{
  // comment with "quotes" and a , comma
  "name": "app", /* block
  comment */ "url": "https://x.dev/a//b", // a URL with // in a string
  "kv_namespaces": [
    { "binding": "COMPONENTS_KV", "id": "top-id", },
  ],
  "env": {
    "production": {
      "kv_namespaces": [{ "binding": "COMPONENTS_KV", "id": "prod-id", "preview_id": "prod-prev" },],
    },
  },
}
"""


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def test_default_is_sqlite(tmp_path: Path) -> None:
    targets = open_stores(load_config(tmp_path), ["staging", "production"])
    st = targets["staging"]
    assert isinstance(st.store, SqliteKV)
    assert st.store.name == f"sqlite:{tmp_path / '.planner/kv.sqlite'}#staging"
    assert st.layouts == ("{type}/{name}@{slot}",)
    assert targets["production"].store.name.endswith("#production")


def test_per_env_cloudflare_from_wrangler_toml(tmp_path: Path) -> None:
    write(tmp_path, "wrangler.toml", WRANGLER_TOML)
    write(
        tmp_path,
        "planner.toml",
        """
[kv]
layouts = ["{type}/{name}@{slot}", "components/{type}/{name}/{slot}"]
[kv.env.staging]
store = "cloudflare"
[kv.env.preview]
store = "cloudflare"
wrangler_env = ""
preview = true
""",
    )
    targets = open_stores(load_config(tmp_path), ["staging", "preview", "dev"], environ=CF_ENV)
    st = targets["staging"].store
    assert isinstance(st, CloudflareKV) and st.namespace_id == "staging-id"
    assert st.name == "cloudflare:staging-id#staging:COMPONENTS_KV"
    pv = targets["preview"].store
    assert isinstance(pv, CloudflareKV) and pv.namespace_id == "top-preview"
    assert targets["staging"].layouts == ("{type}/{name}@{slot}", "components/{type}/{name}/{slot}")
    assert isinstance(targets["dev"].store, SqliteKV)
    st.close()
    pv.close()


def test_env_section_does_not_inherit(tmp_path: Path) -> None:
    write(tmp_path, "wrangler.toml", WRANGLER_TOML)
    write(tmp_path, "planner.toml", '[kv]\nstore = "cloudflare"\n')
    with pytest.raises(BindingError) as err:
        open_stores(load_config(tmp_path), ["production"], environ=CF_ENV)
    msg = err.value.message
    assert "wrangler.toml" in msg and "[env.production]" in msg and "COMPONENTS_KV" in msg and "inherit" in msg


def test_jsonc(tmp_path: Path) -> None:
    write(tmp_path, "wrangler.jsonc", WRANGLER_JSONC)
    data = read_wrangler(tmp_path / "wrangler.jsonc")
    assert data["url"] == "https://x.dev/a//b"
    kw = {"file": "wrangler.jsonc", "binding": "COMPONENTS_KV", "wrangler_env": None}
    assert resolve_namespace_id(data, env="production", preview=False, **kw) == "prod-id"  # type: ignore[arg-type]
    assert resolve_namespace_id(data, env="production", preview=True, **kw) == "prod-prev"  # type: ignore[arg-type]
    assert resolve_namespace_id(data, env="staging", preview=False, **kw) == "top-id"  # type: ignore[arg-type]
    with pytest.raises(BindingError, match=r"wrangler.jsonc: binding COMPONENTS_KV in the top level has no preview_id"):
        resolve_namespace_id(data, env="staging", preview=True, **kw)  # type: ignore[arg-type]


def test_jsonc_comments_and_trailing_commas_keep_strings_and_positions(tmp_path: Path) -> None:
    write(tmp_path, "wrangler.jsonc", '{"a": "x // y /* z */", /* c */ "b": [1, 2,],\n}')
    assert read_wrangler(tmp_path / "wrangler.jsonc") == {"a": "x // y /* z */", "b": [1, 2]}
    # an error after a block comment spanning lines is reported where it is in the file
    write(tmp_path, "wrangler.json", '{\n  /* one\n  two */ "a": 1,\n  "b": ]\n}\n')
    with pytest.raises(DiagnosticError) as err:
        read_wrangler(tmp_path / "wrangler.json")
    assert err.value.render().startswith("wrangler.json:4:8: error: malformed JSONC: unexpected ']'")
    write(tmp_path, "wrangler.json", '{"a": 1')
    with pytest.raises(DiagnosticError) as err:
        read_wrangler(tmp_path / "wrangler.json")
    assert err.value.render().startswith("wrangler.json:1:8: error: malformed JSONC: unexpected end of input")
    write(tmp_path, "wrangler.json", "  \n")
    with pytest.raises(DiagnosticError, match="malformed JSONC: unexpected end of input"):
        read_wrangler(tmp_path / "wrangler.json")


def test_missing_things_are_named(tmp_path: Path) -> None:
    write(tmp_path, "planner.toml", '[kv]\nstore = "cloudflare"\nbinding = "OTHER_KV"\n')
    with pytest.raises(BindingError, match=r"no wrangler file .*\(environment staging, binding OTHER_KV\)"):
        open_stores(load_config(tmp_path), ["staging"], environ=CF_ENV)
    write(tmp_path, "wrangler.toml", WRANGLER_TOML)
    with pytest.raises(BindingError) as err:
        open_stores(load_config(tmp_path), ["staging"], environ=CF_ENV)
    assert err.value.message == (
        "wrangler.toml: no KV binding OTHER_KV in [env.staging] (environment staging; bindings there: COMPONENTS_KV)"
    )
    write(tmp_path, "planner.toml", '[kv]\nstore = "cloudflare"\nwrangler = "infra/wrangler.toml"\n')
    with pytest.raises(BindingError, match=r"infra/wrangler.toml .* does not exist \(environment staging"):
        open_stores(load_config(tmp_path), ["staging"], environ=CF_ENV)


def test_malformed_wrangler_positioned(tmp_path: Path) -> None:
    write(tmp_path, "wrangler.jsonc", '{\n  "kv_namespaces": [\n    { "binding": }\n  ]\n}\n')
    with pytest.raises(DiagnosticError) as err:
        read_wrangler(tmp_path / "wrangler.jsonc")
    assert err.value.render().startswith("wrangler.jsonc:3:18: error: malformed JSON")


@pytest.mark.parametrize(
    ("toml", "needle", "line"),
    [
        ('[kv]\nstore = "redis"\n', "store 'redis'", 2),
        ('[kv]\nlayouts = ["{name}"]\n', "unknown key layout", 2),
        ("[kv]\ncolour = 1\n", "unknown key 'colour'", 2),
        ("[kv.env.staging]\npreview = 1\n", "'kv.env.staging.preview' must be true or false", 2),
    ],
)
def test_bad_config_positioned(tmp_path: Path, toml: str, needle: str, line: int) -> None:
    write(tmp_path, "planner.toml", toml)
    with pytest.raises(DiagnosticError) as err:
        open_stores(load_config(tmp_path), ["staging"])
    assert needle in err.value.message
    assert err.value.diagnostics[0].span is not None and err.value.diagnostics[0].span.line == line


def test_content_metadata() -> None:
    meta = content_metadata("prompts/extraction", "v1.0.0", "c" * 40, b"hi")
    assert meta == {
        "component": "prompts/extraction",
        "version": "v1.0.0",
        "commit": "c" * 40,
        "sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
    }


def test_public_api_is_pinned() -> None:
    import planner.kv.bindings as b
    import planner.kv.cloudflare as c
    import planner.kv.sqlite as s
    import planner.kv.sync as y

    assert s.__all__ == ["SqliteKV"]
    assert set(c.__all__) == {"DEFAULT_BASE_URL", "CloudflareError", "CloudflareKV", "encode_key", "redact"}
    assert {"open_stores", "close_stores", "NamespaceTarget", "content_metadata"} <= set(b.__all__)
    assert {"desired_keys", "derive_keys", "compare", "write"} <= set(y.__all__)


# ---- [kv] path / wrangler must stay inside the repository (issue 18.5) ------------------------


def _refused(root: Path, toml: str, envs: tuple[str, ...] = ("staging",)) -> DiagnosticError:
    write(root, "planner.toml", toml)
    with pytest.raises(DiagnosticError) as err:
        open_stores(load_config(root), envs, environ=CF_ENV)
    return err.value


def test_kv_path_outside_the_repository_is_refused_at_its_position(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    outside = tmp_path / "elsewhere.sqlite"
    err = _refused(repo, f'remote = "origin"\n[kv]\nstore = "sqlite"\npath = "{outside}"\n')
    assert err.render().startswith("planner.toml:4:1: error: [kv] path ")
    assert "outside the repository" in err.message and str(outside) in err.message
    err = _refused(repo, '[kv]\npath = "../x.sqlite"\n')
    assert err.render().startswith("planner.toml:2:1: error: [kv] path '../x.sqlite' is outside the repository")
    err = _refused(repo, '[kv]\n\n[kv.env.production]\n  path = "sub/../../x.sqlite"\n', ("staging", "production"))
    assert err.render().startswith("planner.toml:4:3: error: [kv.env.production] path 'sub/../../x.sqlite'")
    assert not list(tmp_path.glob("*.sqlite")) and not (repo / ".planner").exists()  # nothing was created


def test_kv_path_through_a_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    repo, away = tmp_path / "repo", tmp_path / "away"
    repo.mkdir()
    away.mkdir()
    (repo / "state").symlink_to(away)  # a directory link out of the repository
    (repo / "kv.sqlite").symlink_to(tmp_path / "target.sqlite")  # a dangling file link out of it
    for value in ("state/kv.sqlite", "kv.sqlite"):
        err = _refused(repo, f'[kv]\npath = "{value}"\n')
        assert err.render().startswith(f"planner.toml:2:1: error: [kv] path '{value}'"), err.render()
    assert list(away.iterdir()) == [] and not (tmp_path / "target.sqlite").exists()


def test_kv_path_into_git_or_the_top_level_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for value in (".git/config", ".", "./.git/kv.sqlite"):
        err = _refused(tmp_path, f'[kv]\npath = "{value}"\n')
        assert "inside .git" in err.message and err.diagnostics[0].span is not None
        assert err.diagnostics[0].span.line == 2


def test_kv_path_inside_the_repository_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")  # a link that stays inside is fine
    write(tmp_path, "planner.toml", '[kv]\npath = "link/kv.sqlite"\n[kv.env.production]\npath = "./prod/../p.sqlite"\n')
    targets = open_stores(load_config(tmp_path), ["staging", "production"])
    st, prod = targets["staging"].store, targets["production"].store
    assert isinstance(st, SqliteKV) and isinstance(prod, SqliteKV)
    st.put_many([KVEntry("k", b"v")])
    assert (tmp_path / "data/kv.sqlite").is_file()  # written through the inside link
    assert prod.name == f"sqlite:{tmp_path / 'prod/../p.sqlite'}#production"


def test_wrangler_file_outside_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    write(tmp_path, "wrangler.toml", WRANGLER_TOML)  # readable, but not the repository's
    err = _refused(repo, '[kv]\nstore = "cloudflare"\nwrangler = "../wrangler.toml"\n')
    assert err.render().startswith("planner.toml:3:1: error: [kv] wrangler '../wrangler.toml'")
