"""The schema of ``planner.toml``: every table and key the planner reads, checked in one place.

An unknown key or table (``remtoe``, ``[polcy]``) or a value of the wrong type is an error at its
own ``planner.toml:LINE:COL`` with a did-you-mean: one typo must never switch a policy off.
tomllib gives values without positions, so :func:`locate` finds a key's line and column from the
table headers and ``key =`` lines of the text (it reads positions only; values come from tomllib).
Meaning beyond types (environment names, layouts, times) is checked by the module that uses the
section (``planner.config``, ``planner.kv.bindings``, ``planner.policy``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from planner.errors import DiagnosticSink, Span, source_lines

CONFIG_FILE = "planner.toml"  # at the repository top level (planner.workspace)

Path_ = tuple[str | int, ...]

# A type is a Python type, a tuple of them, a nested table (dict), a table of tables keyed by any
# name ({"*": table}) or an array of tables ([table]).
_KV_ENTRY: dict[str, Any] = {
    "store": str,
    "path": str,
    "layouts": (list, str),
    "binding": str,
    "wrangler": str,
    "wrangler_env": str,
    "preview": bool,
    "namespace": str,
}
_FREEZE: dict[str, Any] = {"env": str, "from": str, "to": str, "tz": str, "reason": str}
SCHEMA: dict[str, Any] = {
    "remote": str,
    "environments": list,
    "kv": {**_KV_ENTRY, "env": {"*": _KV_ENTRY}},
    "policy": {"order": list, "promotion_order": bool, "protected": list, "freeze": [_FREEZE]},
}

_TYPE_NAMES = {str: "a string", list: "a list", bool: "true or false", int: "a number", dict: "a table"}


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path if not isinstance(p, int))


def _type_name(expected: Any) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_TYPE_NAMES[t] for t in expected)
    if isinstance(expected, dict):
        return "a table"
    if isinstance(expected, list):
        return "an array of tables"
    return _TYPE_NAMES[expected]


def check(data: dict[str, Any], text: str, file: str, sink: DiagnosticSink) -> None:
    """Report every unknown key or table and every wrongly typed value of ``data`` into ``sink``."""
    _check_table(data, SCHEMA, (), text, file, sink)


def _check_table(
    data: dict[str, Any], schema: dict[str, Any], path: Path_, text: str, file: str, sink: DiagnosticSink
) -> None:
    for key, value in data.items():
        here = (*path, key)
        expected = schema.get("*", schema.get(key))
        if expected is None:
            known = sorted(k for k in schema if k != "*")
            hit = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            is_table = isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict))
            kind = "table" if is_table else "key"
            shown = f"[{_dotted(here)}]" if kind == "table" else repr(key)
            where = f" in [{_dotted(path)}]" if path else ""
            hint = f" (did you mean {hit[0]!r}?)" if hit else f" (known: {', '.join(known)})"
            sink.error(f"unknown {kind} {shown}{where}{hint}", locate(text, here, file))
            continue
        _check_value(value, expected, here, text, file, sink)


def _check_value(value: Any, expected: Any, path: Path_, text: str, file: str, sink: DiagnosticSink) -> None:
    if isinstance(expected, dict):
        if isinstance(value, dict):
            _check_table(value, expected, path, text, file, sink)
            return
    elif isinstance(expected, list):
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                _check_table(item, expected[0], (*path, i), text, file, sink)
            return
    elif isinstance(value, expected) and not (expected is not bool and isinstance(value, bool)):
        return
    sink.error(f"'{_dotted(path)}' must be {_type_name(expected)}", locate(text, path, file))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)
_PART = re.compile(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)")


def _parts(dotted: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) or m.group(3) or "" for m in _PART.finditer(dotted)]


def locate(text: str, path: Path_, file: str) -> Span:
    """Where ``path`` (keys, with array-of-tables indices) is written in ``text``: the key of its
    ``key =`` line, else its table header, else the closest enclosing table; 1:1 if none."""
    target = [p for p in path if not isinstance(p, int)]
    want_index = [p for p in path if isinstance(p, int)]
    table: list[str] = []
    counts: dict[tuple[str, ...], int] = {}
    indices: list[int] = []
    best: tuple[int, Span] | None = None
    for n, line in enumerate(source_lines(text), 1):
        m = _HEADER.match(line)
        if m:
            table = _parts(m.group(2))
            if m.group(1) == "[[":
                key = tuple(table)
                counts[key] = counts.get(key, -1) + 1
                indices = [counts[key]]
            else:
                indices = []
            span = Span(file, n, m.start(2) + 1, n, m.end(2) + 1)
            full = table
        else:
            k = _KEY_LINE.match(line)
            if not k:
                continue
            full = table + _parts(k.group(1))
            span = Span(file, n, k.start(1) + 1, n, k.end(1) + 1)
        if want_index and indices and indices != want_index[-1:]:
            continue  # another [[table]] of the same array
        if full[: len(target)] == target:
            return span  # the key itself, or the first line inside the table it names
        if target[: len(full)] == full and (best is None or len(full) > best[0]):
            best = (len(full), span)  # the closest enclosing table so far
    return best[1] if best else Span(file, 1, 1)
