import pytest

from planner.model import ModelError, TagName, Version


def test_semver_order() -> None:
    vs = [Version.parse(s) for s in ["v1.10.0", "v1.9.0", "v1.0.0", "v1.0.0-rc.2", "v1.0.0-rc.10", "v1.0.0-alpha"]]
    assert [str(v) for v in sorted(vs)] == [
        "v1.0.0-alpha",
        "v1.0.0-rc.2",
        "v1.0.0-rc.10",
        "v1.0.0",
        "v1.9.0",
        "v1.10.0",
    ]


def test_tag_roundtrip() -> None:
    t = TagName.parse("refs/tags/components/prompts/extraction/staging")
    assert str(t) == "components/prompts/extraction/staging"
    with pytest.raises(ModelError, match="git option"):
        TagName.parse("components/prompts/-x/staging")
