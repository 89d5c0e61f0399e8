"""Renderers of a computed plan: text, markdown (PR comment), json."""
