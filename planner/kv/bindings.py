"""Which KV namespace each environment writes to: the ``[kv]`` table of planner.toml + wrangler.

Schema (every key optional; defaults shown)::

    [kv]
    store = "sqlite"                 # default store kind: "sqlite" or "cloudflare"
    path = ".planner/kv.sqlite"      # the SQLite file (sqlite store), inside the repository
    layouts = ["{type}/{name}@{slot}"]
    binding = "COMPONENTS_KV"        # wrangler binding name (cloudflare store)
    wrangler = "wrangler.toml"       # or wrangler.jsonc / wrangler.json; first found if unset

    [kv.env.production]              # per environment, overrides the keys above
    store = "cloudflare"
    binding = "COMPONENTS_KV"
    layouts = ["{type}/{name}@{slot}", "components/{type}/{name}/{slot}"]
    wrangler_env = "production"      # the [env.NAME] section to read; "" = top level
    preview = false                  # use preview_id instead of id
    namespace = "production"         # sqlite: the namespace inside the file (default: env name)

The namespace id comes from wrangler's ``[[kv_namespaces]]`` (binding, id, preview_id). An
``[env.NAME]`` section does not inherit ``kv_namespaces`` from the top level (wrangler's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.config_schema import CONFIG_FILE, locate
from planner.content import sha256_hex
from planner.errors import Diagnostic, DiagnosticError, PlannerError, Span, source_lines
from planner.fileio import loads_jsonc, loads_toml, read_text_file
from planner.kv.base import KVError, KVStore
from planner.kv.layout import DEFAULT_LAYOUT, KNOWN_LAYOUTS
from planner.kv.sqlite import SqliteKV
from planner.model import ModelError, validate_env
from planner.workspace import inside_top_level, state_dir

if TYPE_CHECKING:
    from planner.config import PlannerConfig  # a type only: config reads [kv] through this module

__all__ = [
    "BindingError",
    "KVSettings",
    "NamespaceTarget",
    "close_stores",
    "content_metadata",
    "open_stores",
    "parse_kv_config",
    "read_wrangler",
    "resolve_namespace_id",
]

STORE_KINDS = ("sqlite", "cloudflare")
DEFAULT_SQLITE = ".planner/kv.sqlite"
DEFAULT_BINDING = "COMPONENTS_KV"
WRANGLER_FILES = ("wrangler.toml", "wrangler.jsonc", "wrangler.json")
_KEYS = {"store", "path", "layouts", "binding", "wrangler", "wrangler_env", "preview", "namespace"}


class BindingError(KVError):
    """A wrangler file, binding or namespace id could not be found or read."""


@dataclass(frozen=True)
class NamespaceTarget:
    env: str
    store: KVStore
    layouts: tuple[str, ...]


@dataclass(frozen=True)
class KVSettings:
    """The resolved ``[kv]`` settings of one environment."""

    env: str
    store: str
    path: str
    layouts: tuple[str, ...]
    binding: str
    wrangler: str | None
    wrangler_env: str | None
    preview: bool
    namespace: str


def content_metadata(component: str, version: str | None, commit: str, content: bytes) -> dict[str, str]:
    """The metadata written with every component key: what it is and a hash to verify it."""
    return {"component": component, "version": version or "", "commit": commit, "sha256": sha256_hex(content)}


# ---- planner.toml [kv] ---------------------------------------------------------------------


def _fail(config: PlannerConfig, message: str, needle: str | None = None) -> DiagnosticError:
    """A positioned error in planner.toml: the line where ``needle`` first appears, else [kv]."""
    text = _config_text(config)
    line, col = 1, 1
    for n in (needle, "[kv"):
        if not n:
            continue
        for i, src in enumerate(source_lines(text), 1):
            pos = src.find(n)
            if pos >= 0:
                line, col = i, pos + 1
                break
        else:
            continue
        break
    return DiagnosticError([Diagnostic("error", message, Span(CONFIG_FILE, line, col))], {CONFIG_FILE: text})


def _config_text(config: PlannerConfig) -> str:
    file = config.root / CONFIG_FILE
    try:
        return read_text_file(file, CONFIG_FILE) if file.is_file() else ""
    except PlannerError:
        return ""  # load_config already read it; this is only the source shown under the error


def _check_inside(config: PlannerConfig, env: str, key: str, value: str, from_env: bool) -> None:
    """Refuse a file ``value`` that resolves (symlinks too) outside the repository or into ``.git``."""
    if inside_top_level(config.root, value) is not None:
        return
    text = _config_text(config)
    span = locate(text, ("kv", "env", env, key) if from_env else ("kv", key), CONFIG_FILE)
    table = f"kv.env.{env}" if from_env else "kv"
    message = (
        f"[{table}] {key} {value!r} is outside the repository or inside .git "
        "(symlinks followed): files named in planner.toml must be in the repository"
    )
    raise DiagnosticError([Diagnostic("error", message, span)], {CONFIG_FILE: text})


def parse_kv_config(config: PlannerConfig, env: str) -> KVSettings:
    raw = config.kv
    envs = raw.get("env", {})
    if not isinstance(envs, dict):
        raise _fail(config, "[kv] 'env' must be a table of environments, e.g. [kv.env.production]", "env")
    per = envs.get(env, {})
    if not isinstance(per, dict):
        raise _fail(config, f"[kv.env.{env}] must be a table", f"kv.env.{env}")
    for name, table in [("kv", {k: v for k, v in raw.items() if k != "env"}), (f"kv.env.{env}", per)]:
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise _fail(config, f"[{name}] unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})", unknown[0])
    merged: dict[str, Any] = {**{k: v for k, v in raw.items() if k != "env"}, **per}

    def get_str(key: str, default: str | None) -> str | None:
        value = merged.get(key, default)
        if value is not None and not isinstance(value, str):
            raise _fail(config, f"[kv] '{key}' must be a string (environment {env})", key)
        return value

    store = get_str("store", "sqlite") or "sqlite"
    if store not in STORE_KINDS:
        raise _fail(
            config, f"[kv] store {store!r} for environment {env} is not one of: {', '.join(STORE_KINDS)}", store
        )
    layouts = merged.get("layouts", [DEFAULT_LAYOUT])
    if isinstance(layouts, str):
        layouts = [layouts]
    if not isinstance(layouts, list) or not layouts or not all(isinstance(x, str) for x in layouts):
        raise _fail(config, f"[kv] 'layouts' must be a non-empty list of key layouts (environment {env})", "layouts")
    for layout in layouts:
        if layout not in KNOWN_LAYOUTS:
            raise _fail(
                config, f"[kv] unknown key layout {layout!r}; known layouts: {', '.join(KNOWN_LAYOUTS)}", layout
            )
    path = get_str("path", DEFAULT_SQLITE) or DEFAULT_SQLITE
    if path != DEFAULT_SQLITE and store == "sqlite":  # the default is the planner's own .planner/
        _check_inside(config, env, "path", path, "path" in per)
    wrangler = get_str("wrangler", None)
    if wrangler and store == "cloudflare":
        _check_inside(config, env, "wrangler", wrangler, "wrangler" in per)
    preview = merged.get("preview", False)
    if not isinstance(preview, bool):
        raise _fail(config, "[kv] 'preview' must be true or false", "preview")
    return KVSettings(
        env=env,
        store=store,
        path=path,
        layouts=tuple(dict.fromkeys(layouts)),
        binding=get_str("binding", DEFAULT_BINDING) or DEFAULT_BINDING,
        wrangler=wrangler,
        wrangler_env=get_str("wrangler_env", None),
        preview=preview,
        namespace=get_str("namespace", env) or env,
    )


# ---- wrangler.toml / wrangler.jsonc ----------------------------------------------------------


def read_wrangler(path: Path) -> dict[str, Any]:
    """Parse wrangler.toml or wrangler.json(c); errors carry file:line:col."""
    name = path.name
    text = read_text_file(path, name)
    if path.suffix == ".toml":
        return loads_toml(name, text)
    data = loads_jsonc(name, text)
    if not isinstance(data, dict):
        raise BindingError(f"{path}: expected a JSON object at the top level")
    return data


def find_wrangler(root: Path, configured: str | None, env: str = "?", binding: str = "?") -> Path:
    for_what = f"environment {env}, binding {binding}"
    if configured:
        path = root / configured
        if not path.is_file():
            raise BindingError(
                f"wrangler file {configured} (from [kv] 'wrangler' in {CONFIG_FILE}) does not exist ({for_what})"
            )
        return path
    for name in WRANGLER_FILES:
        if (root / name).is_file():
            return root / name
    raise BindingError(f"no wrangler file ({' or '.join(WRANGLER_FILES)}) in {root} ({for_what})")


def resolve_namespace_id(
    data: Mapping[str, Any], *, file: str, env: str, binding: str, wrangler_env: str | None, preview: bool
) -> str:
    """The namespace id bound to ``binding`` for ``env``; [env.X] does not inherit kv_namespaces."""
    section: Mapping[str, Any] = data
    where = "the top level"
    envs = data.get("env")
    envs = envs if isinstance(envs, dict) else {}
    name = env if wrangler_env is None else wrangler_env
    if name:
        if name in envs and isinstance(envs[name], dict):
            section, where = envs[name], f"[env.{name}]"
        elif wrangler_env is not None:
            raise BindingError(f"{file}: no [env.{name}] section (environment {env}, binding {binding})")
    spaces = section.get("kv_namespaces")
    if spaces is None:
        hint = " ([env.X] sections do not inherit kv_namespaces from the top level)" if section is not data else ""
        raise BindingError(f"{file}: {where} has no kv_namespaces (environment {env}, binding {binding}){hint}")
    if not isinstance(spaces, list):
        raise BindingError(f"{file}: kv_namespaces in {where} must be a list (environment {env})")
    for item in spaces:
        if isinstance(item, dict) and item.get("binding") == binding:
            field = "preview_id" if preview else "id"
            ns_id = item.get(field)
            if not isinstance(ns_id, str) or not ns_id:
                raise BindingError(f"{file}: binding {binding} in {where} has no {field} (environment {env})")
            return ns_id
    have = sorted(str(i.get("binding")) for i in spaces if isinstance(i, dict))
    raise BindingError(
        f"{file}: no KV binding {binding} in {where} (environment {env}; bindings there: {', '.join(have) or 'none'})"
    )


# ---- entry point ---------------------------------------------------------------------------


def open_store(config: PlannerConfig, settings: KVSettings, environ: Mapping[str, str] | None = None) -> KVStore:
    root = config.root
    if settings.store == "sqlite":
        if settings.path == DEFAULT_SQLITE:  # the repository's .planner/, shared by its linked worktrees
            return SqliteKV(state_dir(root) / "kv.sqlite", settings.namespace)
        return SqliteKV(root / settings.path, settings.namespace)  # inside: parse_kv_config checked
    from planner.kv.cloudflare import CloudflareKV  # httpx only when Cloudflare is used

    path = find_wrangler(root, settings.wrangler, settings.env, settings.binding)
    ns_id = resolve_namespace_id(
        read_wrangler(path),
        file=path.name,
        env=settings.env,
        binding=settings.binding,
        wrangler_env=settings.wrangler_env,
        preview=settings.preview,
    )
    return CloudflareKV(ns_id, label=f"{settings.env}:{settings.binding}", environ=environ)


def open_stores(
    config: PlannerConfig, envs: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, NamespaceTarget]:
    """One target per environment. Environments sharing a namespace share one store object."""
    out: dict[str, NamespaceTarget] = {}
    for env in envs:
        try:
            validate_env(env)
        except ModelError as exc:
            raise KVError(exc.message) from None
        settings = parse_kv_config(config, env)
        out[env] = NamespaceTarget(env, open_store(config, settings, environ), settings.layouts)
    return out


def close_stores(targets: Mapping[str, NamespaceTarget]) -> None:
    """Release connections held by stores that have any (the Cloudflare HTTP client)."""
    for t in targets.values():
        close = getattr(t.store, "close", None)
        if callable(close):
            close()
