"""Suggestions compare the name part of ``type/name``: a shared ``prompts/`` prefix is no match."""

from __future__ import annotations

from planner.lang.passes.names import suggest as _suggest


def test_name_part_decides() -> None:
    known = ["prompts/extraction", "agents/analyzer"]
    assert _suggest("prompts/summary", known) == ""  # was: did you mean 'prompts/extraction'
    assert _suggest("prompts/extration", known) == " (did you mean 'prompts/extraction'?)"
    assert _suggest("prompt/extraction", known) == " (did you mean 'prompts/extraction'?)"
    assert _suggest("schemas/extraction", known) == ""  # another type entirely
    assert _suggest("prod", ["staging", "production"]) == " (did you mean 'production'?)"
    assert _suggest("stagng", ["staging", "production"]) == " (did you mean 'staging'?)"
