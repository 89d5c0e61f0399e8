"""KV key layouts. ``{type}`` is the plural namespace (``prompts``), as conductor uses it."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_LAYOUT = "{type}/{name}@{slot}"
KNOWN_LAYOUTS = ("{type}/{name}@{slot}", "components/{type}/{name}/{slot}", "{type}/{name}/{slot}")


def render_key(layout: str, namespace: str, name: str, slot: str) -> str:
    return layout.format(type=namespace, name=name, slot=slot)


def keys_for(layouts: Sequence[str], namespace: str, name: str, slot: str) -> list[str]:
    """Every key a component slot is written under, one per configured layout, in layout order."""
    return [render_key(layout, namespace, name, slot) for layout in layouts]
