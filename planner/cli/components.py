"""``planner components list|show|add``: the merged registry (components.json + component.yaml)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.app import app
from planner.cli.options import FormatOpt, RepoDirOpt
from planner.model import TYPE_TO_NAMESPACE

components_app = typer.Typer(
    help="List, show and register components.\n\nThe edgit registry (.edgit/components.json) merged with component.yaml files.",
    no_args_is_help=True,
)
app.add_typer(components_app, name="components")

_Repo = RepoDirOpt
_Fmt = FormatOpt
# edgit's types, from the one list in planner.model, so --help lists them and completes them.
ComponentType = Enum("ComponentType", {t: t for t in TYPE_TO_NAMESPACE}, type=str)  # type: ignore[misc]


def _component_json(c: object) -> dict[str, object]:
    from planner.registry import Component

    assert isinstance(c, Component)
    return {
        "component": str(c.ref),
        "name": c.name,
        "type": c.type,
        "path": c.path,
        "prefix": c.prefix,
        "needs_rebuild": c.needs_rebuild,
        "source": c.source,
    }


@components_app.command("list")
def list_components(repo: _Repo = Path("."), fmt: _Fmt = "text") -> None:
    """Every registered component with its type, prefix and file."""
    import json

    from planner.registry import load_registry

    reg = load_registry(repo)
    deps = reg.dependencies()
    rows = [{**_component_json(c), "uses": sorted(map(str, deps[c.ref]))} for c in reg.components.values()]
    if fmt == "json":
        sys.stdout.write(json.dumps({"components": rows}, indent=2) + "\n")
        return
    for r in rows:
        rebuild = "  (needs rebuild)" if r["needs_rebuild"] else ""
        print(f"{r['component']:<36} {r['prefix']:<11} {r['path']}{rebuild}")


@components_app.command("show")
def show_component(
    component: Annotated[str, typer.Argument(metavar="COMPONENT", help="type/name, or a unique name.")],
    repo: _Repo = Path("."),
    fmt: _Fmt = "text",
) -> None:
    """One component: declaration, dependencies, YAML references."""
    import json

    from planner.errors import PlannerError
    from planner.registry import load_registry

    reg = load_registry(repo)
    c = reg.lookup(component)
    if c is None:
        raise PlannerError(f"unknown component {component!r} (see `planner components list`)")
    deps = reg.dependencies()[c.ref]
    users = sorted(str(r) for r, d in reg.dependencies().items() if c.ref in d)
    refs = [
        {"at": str(r.span), "ref": str(r.ref), "slot": r.slot, "text": r.text} for r in reg.yaml_refs.get(c.ref, ())
    ]
    doc = {**_component_json(c), "uses": sorted(map(str, deps)), "used_by": users, "references": refs}
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    for key in ("component", "type", "path", "prefix", "source"):
        print(f"{key + ':':<13}{doc[key]}")
    if c.needs_rebuild:
        print("note:        logic component: a release needs a Worker rebuild and redeploy")
    print(f"{'uses:':<13}{', '.join(doc['uses']) or '-'}")  # type: ignore[arg-type]
    print(f"{'used by:':<13}{', '.join(users) or '-'}")
    for r in refs:
        print(f"  {r['at']}: {r['text']}")


@components_app.command("add")
def add(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A component.yaml manifest, or the component's file.")],
    type_: Annotated[ComponentType | None, typer.Option("--type", help="The edgit type, for a plain file.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Component name (default: the file's stem).")] = None,
    repo: _Repo = Path("."),
) -> None:
    """Register a component in .edgit/components.json.

    The file is written byte-compatible with edgit's own.
    """
    from planner.registry import add_component

    c = add_component(repo, path, type_=type_.value if type_ is not None else None, name=name)
    print(f"registered {c.ref} ({c.path}, prefix {c.prefix})", file=sys.stderr)
