"""Component references inside YAML files, with their positions.

Conductor-style YAML names the components it loads in scalar values:

    prompt: prompts/extraction@staging          # {namespace}/{name}@{slot}
    schema: schemas/invoice@v1.0.0
    agent: prompt://extraction@v1.0.0           # {type}://{name}@{slot}

``scan_yaml`` walks the YAML node tree (``yaml.compose``, so every scalar keeps its mark) and
returns each reference with file, line and column. The registry uses it for the dependency map;
``planner validate`` reuses it to check that every reference resolves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from planner.errors import Diagnostic, DiagnosticError, Span
from planner.model import NAMESPACE_TO_TYPE, TYPE_TO_NAMESPACE, ComponentRef

# A slot after '@' is optional in a reference: `prompts/extraction` alone is not matched (too many
# false positives in ordinary paths), so '@' or the '://' scheme form is required.
_NS_FORM = re.compile(r"^(?P<ns>[a-z][a-z-]*)/(?P<name>[a-z0-9][a-z0-9_-]*)@(?P<slot>[^\s@/]+)$")
_SCHEME_FORM = re.compile(r"^(?P<scheme>[a-z][a-z-]*)://(?P<name>[a-z0-9][a-z0-9_-]*)(?:@(?P<slot>[^\s@/]+))?$")
# `agent://x` is how conductor spells agent-definitions; accept namespace plurals as schemes too.
_SCHEME_ALIASES = {"agent": "agents"}


@dataclass(frozen=True, order=True)
class YamlRef:
    """One reference: which component, which slot (version/env text, or None) and where."""

    span: Span
    ref: ComponentRef
    slot: str | None
    text: str  # the scalar as written
    key: str | None = None  # the mapping key it was the value of (``prompt``), if any


def parse_ref(text: str) -> tuple[ComponentRef, str | None] | None:
    """Recognise one scalar as a component reference; None if it is not one."""
    m = _NS_FORM.match(text)
    if m and m.group("ns") in NAMESPACE_TO_TYPE:
        return ComponentRef(m.group("ns"), m.group("name")), m.group("slot")
    m = _SCHEME_FORM.match(text)
    if m:
        scheme = m.group("scheme")
        ns = TYPE_TO_NAMESPACE.get(scheme) or _SCHEME_ALIASES.get(scheme)
        if ns is None and scheme in NAMESPACE_TO_TYPE:
            ns = scheme
        if ns is not None:
            return ComponentRef(ns, m.group("name")), m.group("slot")
    return None


def node_span(file: str, node: yaml.Node) -> Span:
    """The span of a YAML node (the registry's manifests and ``validate`` use it too)."""
    start, end = node.start_mark, node.end_mark
    # yaml marks are 0-based; a Span is 1-based with an inclusive end column.
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column)


def walk_scalars(node: yaml.Node, key: str | None = None) -> Iterator[tuple[yaml.ScalarNode, str | None]]:
    """Every scalar under ``node`` with the mapping key it is the value of (items of a list inherit it).

    An alias is the same node object as its anchor: each node is visited once (by id) and aliases
    are never expanded, so ``&a [*a]`` ends and a "billion laughs" document costs its size, not
    its expansion. Iterative, so deep nesting cannot exhaust the stack.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str | None]] = [(node, key)]
    while stack:
        cur, k = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, yaml.ScalarNode):
            yield cur, k
        elif isinstance(cur, yaml.SequenceNode):
            stack.extend((item, k) for item in reversed(cur.value))
        elif isinstance(cur, yaml.MappingNode):
            for kn, v in reversed(cur.value):
                stack.append((v, kn.value if isinstance(kn, yaml.ScalarNode) else None))


def yaml_error(file: str, text: str, exc: yaml.YAMLError) -> DiagnosticError:
    """A malformed-YAML diagnostic positioned at the problem mark (line and column)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    span = Span(file, mark.line + 1, mark.column + 1) if mark is not None else Span(file, 1, 1)
    return DiagnosticError([Diagnostic("error", f"malformed YAML: {problem}", span)], {file: text})


def compose_all(file: str, text: str) -> list[yaml.Node]:
    """Every document's node tree; raises a positioned DiagnosticError for malformed YAML."""
    try:
        return [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.YAMLError as exc:
        raise yaml_error(file, text, exc) from None
    except RecursionError:
        diag = Diagnostic("error", "malformed YAML: nested too deeply", Span(file, 1, 1))
        raise DiagnosticError([diag]) from None


def scan_yaml(file: str, text: str) -> list[YamlRef]:
    """All component references in a YAML text, in source order. ``file`` is used for spans."""
    out: list[YamlRef] = []
    for doc in compose_all(file, text):
        for node, key in walk_scalars(doc):
            if not isinstance(node.value, str):
                continue
            found = parse_ref(node.value.strip())
            if found is not None:
                out.append(YamlRef(node_span(file, node), found[0], found[1], node.value, key))
    return sorted(out)


def is_yaml_path(path: str) -> bool:
    return path.endswith((".yaml", ".yml"))
