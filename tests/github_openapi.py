"""GitHub's official OpenAPI description (npm ``@octokit/openapi``, pinned in .ci/run) as JSON
Schema: every request and response of tests/github_server.py is validated against it, and the
server's objects are generated from it, so the double cannot drift from the real API.

OpenAPI 3.0's ``nullable: true`` is rewritten to JSON Schema's ``null`` type once, at load.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / ".ci/node/node_modules/@octokit/openapi/generated/api.github.com.json"
URN = "urn:github-openapi"


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "$ref" in out or "allOf" in out or "anyOf" in out or "oneOf" in out:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        raise AssertionError(f"{SPEC} is missing: run the npm install line of .ci/run")
    doc: dict[str, Any] = _nullable(json.loads(SPEC.read_text(encoding="utf-8")))
    return doc


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(URN, Resource.from_contents(spec(), default_specification=DRAFT202012))


def escape(part: str) -> str:
    """A JSON pointer segment."""
    return part.replace("~", "~0").replace("/", "~1")


@functools.cache
def _validator(pointer: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"{URN}#/{pointer}"}, registry=_registry())


def check(pointer: str, instance: Any) -> list[str]:
    """Validation errors of ``instance`` against the schema at ``pointer`` in the spec."""
    validator = _validator(pointer)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in validator.iter_errors(instance)
    ]


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for path in spec()["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        out.append((re.compile(rx), path))
    return out


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The path template and operation object for a request; AssertionError if GitHub has none."""
    literal = [t for rx, t in _templates() if rx.match(path)]
    literal.sort(key=lambda t: t.count("{"))  # /repos/{o}/{r}/issues/comments/{id} before {issue_number}
    for template in literal:
        op = spec()["paths"][template].get(method.lower())
        if op is not None:
            return template, op
    raise AssertionError(f"{method} {path} is not an operation of GitHub's REST API")


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        cur: Any = spec()
        for part in ref[2:].split("/"):
            cur = cur[part.replace("~1", "/").replace("~0", "~")]
        node = cur
    return node


def example(schema: Any, depth: int = 0) -> Any:
    """A minimal instance of ``schema``: its required properties only, filled by type and format."""
    schema = resolve(schema)
    if depth > 12:
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s).get("type") != "null"]
            return example(options[0], depth + 1) if options else None
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {name: example(props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        return {
            "date-time": "2026-01-01T00:00:00Z",
            "uri": "https://example.com/x",
            "email": "octocat@example.com",
            "uri-template": "https://example.com/{x}",
        }.get(fmt or "", "x")
    return None


def component(name: str) -> Any:
    return example({"$ref": f"#/components/schemas/{name}"})
