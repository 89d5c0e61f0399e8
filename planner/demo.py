"""A throw-away edgit component repository with a bare remote, for ``planner demo`` and tests.

``build_demo_repo(dir)`` writes real files, commits and annotated tags exactly as edgit writes
them (versions ``Release {name} {version}``, env tags ``Set {name} to {env}`` nested on the
version tag object), plus one env tag pointing straight at a commit with no version, and pushes
everything to a bare ``remote.git``. Later issues extend the demo (plans, KV store) on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.gitio import Opt, Repo
from planner.model import Version, env_message, version_message
from planner.registry import dump_edgit

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Release Planner demo",
    "GIT_AUTHOR_EMAIL": "demo@example.invalid",
    "GIT_COMMITTER_NAME": "Release Planner demo",
    "GIT_COMMITTER_EMAIL": "demo@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


@dataclass(frozen=True)
class DemoRepo:
    root: Path  # the directory given to build_demo_repo
    work: Path  # the checkout (``origin`` = remote)
    remote: Path  # the bare remote


_REGISTRY = {
    "version": "3.0.0",
    "components": {
        "extraction": {"path": "prompts/extraction.md", "type": "prompt"},
        "invoice": {"path": "schemas/invoice.json", "type": "schema"},
        "router": {"path": "logic/router.ts", "type": "script"},
    },
    "updated": "2026-01-01T00:00:00.000Z",
}

_ANALYZER_MANIFEST = """\
name: analyzer
type: agent-definition
path: analyzer.yaml
uses:
  - prompts/extraction
"""

_ANALYZER = """\
name: analyzer
prompt: prompts/extraction@staging
output:
  schema: schemas/invoice@v1.0.0
"""


def _git(work: Path, *args: str | Opt) -> None:
    Repo(work).run([Opt("-c"), "advice.nestedTag=false", *args], env=_IDENTITY)


def _commit(work: Path, message: str) -> str:
    _git(work, "add", Opt("-A"))
    _git(work, "commit", Opt("-q"), Opt("-m"), message)
    return Repo(work).text(["rev-parse", "HEAD"]).strip()


def _write(work: Path, path: str, text: str) -> None:
    p = work / path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _version(work: Path, prefix: str, version: str, commit: str) -> None:
    name = prefix.split("/")[2]
    tag = f"{prefix}/{version}"
    _git(work, "tag", Opt("-a"), Opt("-m"), version_message(name, Version.parse(version)), tag, commit)


def _env(work: Path, prefix: str, env: str, target: str) -> None:
    """edgit's ``tag set``: the env tag object points at the version tag object (nested)."""
    name = prefix.split("/")[2]
    _git(work, "tag", Opt("-f"), Opt("-a"), Opt("-m"), env_message(name, env), f"{prefix}/{env}", target)


# edgit has no ignore file of its own: its scan lists tracked files (`git ls-files`) and untracked
# ones through git's excludes (`git ls-files --others --exclude-standard`), and its detector takes
# any *.json / *.toml / *.yaml for a config component. This .gitignore line keeps the planner's
# local state (journal, lock, embedded KV store) out of that scan (docs/foundation.md).
EDGIT_IGNORE = "# The planner's local state (journal, lock, embedded KV): never an edgit component.\n.planner/\n"


def build_demo_repo(directory: Path | str) -> DemoRepo:
    """Create ``directory``/work and ``directory``/remote.git with a few released components."""
    root = Path(directory)
    work, remote = root / "work", root / "remote.git"
    root.mkdir(parents=True, exist_ok=True)
    Repo(root).run(["init", Opt("-q"), Opt("--bare"), Opt("-b"), "main", str(remote)])
    Repo(root).run(["init", Opt("-q"), Opt("-b"), "main", str(work)])
    _git(work, "remote", "add", "origin", str(remote))
    # The demo's own identity, so that what apply writes (tags, ledger actor) does not use yours.
    _git(work, "config", "user.name", _IDENTITY["GIT_COMMITTER_NAME"])
    _git(work, "config", "user.email", _IDENTITY["GIT_COMMITTER_EMAIL"])

    _write(work, ".edgit/components.json", dump_edgit(_REGISTRY))
    _write(work, ".gitignore", EDGIT_IGNORE + "# The demo's reviewed plan artifact.\n/plan.json\n")
    _write(work, "prompts/extraction.md", "Extract the invoice fields.\n")
    _write(work, "schemas/invoice.json", '{"type": "object"}\n')
    _write(work, "logic/router.ts", "export const route = () => 'v0.9';\n")
    _write(work, "agents/analyzer/component.yaml", _ANALYZER_MANIFEST)
    _write(work, "agents/analyzer/analyzer.yaml", _ANALYZER)
    c1 = _commit(work, "Add components")
    ext, inv = "components/prompts/extraction", "components/schemas/invoice"
    ana, rtr = "components/agents/analyzer", "logic/scripts/router"
    for prefix, v in ((ext, "v1.0.0"), (inv, "v1.0.0"), (ana, "v1.0.0"), (rtr, "v0.9.0")):
        _version(work, prefix, v, c1)

    _write(work, "prompts/extraction.md", "Extract the invoice fields. Return JSON.\n")
    _write(work, "logic/router.ts", "export const route = () => 'v1.0';\n")
    c2 = _commit(work, "Improve extraction, new router")
    _version(work, ext, "v1.1.0", c2)
    _version(work, rtr, "v1.0.0-rc.1", c2)

    _write(work, "agents/analyzer/analyzer.yaml", _ANALYZER + "temperature: 0\n")
    c3 = _commit(work, "Tune analyzer (not released yet)")

    _env(work, ext, "production", f"{ext}/v1.0.0")
    _env(work, ext, "staging", f"{ext}/v1.1.0")
    _env(work, inv, "production", f"{inv}/v1.0.0")
    _env(work, inv, "staging", f"{inv}/v1.0.0")
    _env(work, ana, "production", f"{ana}/v1.0.0")
    # Someone pointed staging straight at an unreleased commit: status shows "(no version: ...)".
    _git(work, "tag", Opt("-a"), Opt("-m"), env_message("analyzer", "staging"), f"{ana}/staging", c3)
    _env(work, rtr, "production", f"{rtr}/v0.9.0")
    _env(work, rtr, "staging", f"{rtr}/v1.0.0-rc.1")
    _git(work, "push", Opt("-q"), "origin", "main", "refs/tags/*:refs/tags/*")
    return DemoRepo(root, work, remote)
