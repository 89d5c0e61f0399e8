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


# --- property tests --------------------------------------------------------------------------

import functools  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from planner.model import (  # noqa: E402
    NAMESPACE_TO_TYPE,
    ComponentRef,
    build_tag,
    validate_env,
    validate_name,
)

names = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,20}\Z")
envs = names.filter(lambda s: not Version.is_version_slot(s))
nums = st.integers(min_value=0, max_value=10**6)
pre_ident = st.one_of(
    st.integers(min_value=0, max_value=10**4).map(str),
    st.from_regex(r"\A[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*\Z").filter(lambda s: len(s) <= 8),
)
versions = st.builds(Version, nums, nums, nums, st.lists(pre_ident, max_size=3).map(tuple))


@given(
    st.sampled_from(["components", "logic"]),
    st.sampled_from(sorted(NAMESPACE_TO_TYPE)),
    names,
    st.one_of(versions, envs),
)
def test_parse_build_roundtrip(prefix: str, ns: str, name: str, slot: Version | str) -> None:
    tag = build_tag(prefix, ComponentRef(ns, name), slot)  # type: ignore[arg-type]
    assert TagName.parse(str(tag)) == tag
    assert TagName.parse(tag.ref) == tag


@given(versions)
def test_version_text_roundtrip(v: Version) -> None:
    assert Version.parse(str(v)) == v


def _semver_cmp(a: Version, b: Version) -> int:
    """An independent semver.org section 11 comparison, written from the spec."""
    for x, y in ((a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease or not b.prerelease:
        return (not a.prerelease) - (not b.prerelease) if a.prerelease != b.prerelease else 0
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return (len(a.prerelease) > len(b.prerelease)) - (len(a.prerelease) < len(b.prerelease))


@given(versions, versions, versions)
def test_order_is_total_and_matches_semver(a: Version, b: Version, c: Version) -> None:
    # exactly one of <, ==, > (totality + antisymmetry)
    assert [a < b, a == b, b < a].count(True) == 1
    cmp = _semver_cmp(a, b)
    assert (a < b) == (cmp < 0) and (a == b) == (cmp == 0)
    if a <= b and b <= c:  # transitivity
        assert a <= c
    assert sorted([a, b, c]) == sorted([a, b, c], key=functools.cmp_to_key(_semver_cmp))


@pytest.mark.parametrize(
    "bad",
    ["-x", "--upload-pack=evil", "a..b", "a/b", "a b", "a\tb", "a\nb", "a\x00b", ".a", "a.lock", "", "x" * 101, "é"],
)
def test_hostile_names_rejected(bad: str) -> None:
    with pytest.raises(ModelError):
        validate_name(bad)
    with pytest.raises(ModelError):
        validate_env(bad)


@pytest.mark.parametrize(
    "ref",
    [
        "components/prompts/x/staging/extra",  # five segments (env with '/')
        "components/prompts/-x/staging",
        "components/prompts/x/-staging",
        "components/prompts/x/v1.0",  # not a version, and "." is not allowed in an env name
        "components/prompts/x/v01.0.0",  # leading zero: a broken version, not an env
        "components/prompts/x/v1.0.0-rc.01",
        "other/prompts/x/staging",
        "components/widgets/x/staging",
        "components/prompts/.X/staging",
    ],
)
def test_hostile_tags_rejected(ref: str) -> None:
    assert TagName.try_parse(ref) is None
    with pytest.raises(ModelError):
        TagName.parse(ref)


def test_env_must_not_look_like_version() -> None:
    with pytest.raises(ModelError):
        validate_env("v1.0.0")
    assert validate_env("prod-eu_1") == "prod-eu_1"


@pytest.mark.parametrize("text", ["v1" + "0" * 4400 + ".0.0", "v1.0.0-" + "1" * 4400, "v1.0.0-rc." + "9" * 5000])
def test_version_with_a_number_python_cannot_convert_is_a_model_error(text: str) -> None:
    # int() refuses more than 4,300 digits: a crafted remote tag must be an invalid name, not a crash.
    with pytest.raises(ModelError, match="a number in it is too long") as info:
        Version.parse(text)
    assert len(str(info.value)) < 200  # the message does not repeat thousands of digits
    assert TagName.try_parse(f"components/prompts/x/{text}") is None
