"""The edgit component model: tag names, types and namespaces, semver versions, environments.

Pure: no I/O. Every name that comes from a plan, a registry or a remote goes through the
validators here before it can reach git, so a hostile name (``-x``, ``a..b``, ``a/b``, control
characters) is rejected with a message instead of becoming a git option or a stray ref.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from planner.errors import PlannerError

Prefix = Literal["components", "logic"]
PREFIXES: tuple[Prefix, ...] = ("components", "logic")

# edgit's component types and the plural namespace each lives under in tag names.
TYPE_TO_NAMESPACE: dict[str, str] = {
    "template": "templates",
    "prompt": "prompts",
    "query": "queries",
    "config": "configs",
    "script": "scripts",
    "schema": "schemas",
    "agent-definition": "agents",
    "ensemble": "ensembles",
    "tool": "tools",
}
NAMESPACE_TO_TYPE: dict[str, str] = {ns: t for t, ns in TYPE_TO_NAMESPACE.items()}

# edgit's names (``MyPrompt``, ``my.prompt``) within git's ref rules (git check-ref-format: no
# leading '.', no '..', no '.lock' suffix, no trailing '.'): letters, digits, '.', '-', '_',
# starting with a letter, digit or '_' (never '-': a git option). A dot is never followed by
# another dot, the end, or a final "lock". Other characters git allows ('@', '+', ':'-free
# non-ASCII, ...) are refused: '@' and ':' separate KV keys and YAML references, and the plan
# language cannot spell the rest.
# The release ledger: one commit per apply, on the remote (planner.txn.ledger, docs/apply.md).
LEDGER_REF = "refs/planner/ledger"
# Copies of the journals of applies in flight, one ref per apply (planner.txn.remotejournal).
JOURNAL_PREFIX = "refs/planner/journal/"
APPLY_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")  # planner.txn.engine.apply_plan's ids; no other is ours


def journal_apply_id(ref: str) -> str | None:
    """The apply whose journal's copy ``ref`` is (``refs/planner/journal/<apply id>``); None for
    any other ref, a name there that is not an apply id included (it is not ours)."""
    apply_id = ref.removeprefix(JOURNAL_PREFIX)
    return apply_id if apply_id != ref and APPLY_ID.match(apply_id) else None


NAME_PATTERN = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]|\.(?!\.|lock(?:/|$)|/|$))*"
_NAME_RE = re.compile(rf"^{NAME_PATTERN}$")
_ENV_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VERSION_RE = re.compile(
    r"^v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# DESIGN.md's looser rule: anything matching this is meant as a version, so a version-looking slot
# that fails the strict semver check above is an error, not silently an environment.
_VERSIONISH_RE = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
_MAX_NAME = 100
_TAG_RE = re.compile(rf"^(components|logic)/([a-z-]+)/({NAME_PATTERN})/([^/]+)$")


class ModelError(PlannerError):
    """An invalid component, type, version, environment or tag name."""


def namespace_for_type(type_: str) -> str:
    try:
        return TYPE_TO_NAMESPACE[type_]
    except KeyError:
        raise ModelError(f"unknown component type {type_!r} (known: {', '.join(sorted(TYPE_TO_NAMESPACE))})") from None


def type_for_namespace(namespace: str) -> str:
    try:
        return NAMESPACE_TO_TYPE[namespace]
    except KeyError:
        raise ModelError(
            f"unknown component namespace {namespace!r} (known: {', '.join(sorted(NAMESPACE_TO_TYPE))})"
        ) from None


def _describe_bad_name(value: str) -> str | None:
    if len(value) <= _MAX_NAME and _NAME_RE.match(value):
        return None  # the common case; the alphabet already excludes '/', '..', spaces, controls
    if not value:
        return "is empty"
    if len(value) > _MAX_NAME:
        return f"is longer than {_MAX_NAME} characters"
    if value.startswith("-"):
        return "starts with '-' and could be read as a git option"
    if "/" in value:
        return "contains '/' (a tag has exactly four segments: prefix/type/name/slot)"
    if ".." in value:
        return "contains '..'"
    if any(c.isspace() for c in value):
        return "contains whitespace"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a control character"
    if value.startswith("."):
        return "starts with '.' (git refuses such a ref)"
    if value.endswith(".lock"):
        return "ends with '.lock' (git refuses such a ref)"
    if value.endswith("."):
        return "ends with '.' (git refuses such a ref)"
    if not _NAME_RE.match(value):
        return "may contain only letters, digits, '.', '-' and '_', starting with a letter, digit or '_'"
    return None


def validate_name(value: str, what: str = "component name") -> str:
    """Return ``value`` if it is a valid component name, else raise ModelError."""
    problem = _describe_bad_name(value)
    if problem:
        raise ModelError(f"invalid {what} {value!r}: it {problem}")
    return value


def validate_env(value: str) -> str:
    """Environment slot names: same alphabet as component names, and must not look like a version."""
    validate_name(value, "environment name")
    if not _ENV_RE.match(value):  # edgit's names may use capitals and dots; DESIGN.md keeps envs to this
        raise ModelError(
            f"invalid environment name {value!r}: it may contain only lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    if value.startswith("v") and _VERSIONISH_RE.match(value):
        raise ModelError(f"invalid environment name {value!r}: it looks like a version")
    return value


# Nearly a version: `v1.1`, `1.2.0`, `V2`. Only for suggestions; Version.parse stays strict.
_NEAR_VERSION_RE = re.compile(r"^[vV]?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(-[0-9A-Za-z.-]+)?$")


def version_suggestion(text: str) -> str | None:
    """The version ``text`` most likely means (``v1.1`` -> ``v1.1.0``, ``1.2.0`` -> ``v1.2.0``), or None."""
    m = _NEAR_VERSION_RE.match(text)
    if m is None:
        return None
    major, minor, patch, pre = m.groups()
    if text.startswith("v") and patch is not None:
        return None  # all its parts are there (`v01.0.0`): its own error message says what is wrong
    guess = f"v{int(major)}.{int(minor or 0)}.{int(patch or 0)}{pre or ''}"
    return guess if guess != text else None


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """A version slot, ``v`` + semver 2.0 without build metadata. Ordered by semver precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        cached = _VERSION_CACHE.get(text)
        if cached is not None:
            return cached
        v = cls._parse(text)
        if len(_VERSION_CACHE) < 65536:  # remotes repeat the same few versions across components
            _VERSION_CACHE[text] = v
        return v

    @classmethod
    def _parse(cls, text: str) -> Version:
        m = _VERSION_RE.match(text)
        if not m:
            hint = version_suggestion(text)
            raise ModelError(
                f"invalid version {text!r}"
                + (f" (did you mean {hint}?)" if hint else "")
                + ": expected v<major>.<minor>.<patch>[-prerelease], e.g. v1.2.0 or v1.2.0-rc.1"
            )
        pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
        for ident in pre:
            if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
                raise ModelError(
                    f"invalid version {text!r}: numeric pre-release identifier {ident!r} has a leading zero"
                )
        if text.endswith(".lock"):
            raise ModelError(f"invalid version {text!r}: a git ref component may not end with '.lock'")
        try:
            return cls(int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre)
        except ValueError:  # Python refuses to convert numbers of more than 4,300 digits
            shown = text if len(text) <= 60 else f"{text[:40]}...{text[-10:]}"
            raise ModelError(f"invalid version {shown!r}: a number in it is too long") from None

    @staticmethod
    def is_version_slot(text: str) -> bool:
        """True if ``text`` is meant as a version (DESIGN.md's rule), valid or not."""
        return bool(_VERSIONISH_RE.match(text))

    def __post_init__(self) -> None:
        # Computed once per version and stored as plain attributes (not fields: equality, hashing
        # and repr ignore them): status prints and snapshots sort the same few versions 10,000
        # times, and a cached_property costs a Python-level call per read.
        # semver.org section 11: a pre-release sorts below its release; identifiers compare
        # numerically when numeric, numeric < alphanumeric, and a longer list wins a tie.
        pre = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in self.prerelease)
        key = (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)
        base = f"v{self.major}.{self.minor}.{self.patch}"
        object.__setattr__(self, "_sort_key", key)
        object.__setattr__(self, "_text", f"{base}-{'.'.join(self.prerelease)}" if self.prerelease else base)

    # Per-instance values set in __post_init__; declared ClassVar only so that they are not
    # dataclass fields (plan artifacts serialise fields, equality and hashing compare them).
    _sort_key: ClassVar[tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]]
    _text: ClassVar[str]

    def __str__(self) -> str:
        return self._text

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        return self._sort_key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


_VERSION_CACHE: dict[str, Version] = {}


@dataclass(frozen=True, order=True)
class ComponentRef:
    """A component as plans name it: ``prompts/extraction`` (namespace + name)."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ComponentRef:
        parts = text.split("/")
        if len(parts) != 2:
            raise ModelError(f"invalid component reference {text!r}: expected <type>/<name>, e.g. prompts/extraction")
        type_for_namespace(parts[0])
        return cls(parts[0], validate_name(parts[1]))

    @property
    def type(self) -> str:
        return NAMESPACE_TO_TYPE[self.namespace]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class TagName:
    """``{prefix}/{namespace}/{name}/{slot}``; slot is a Version or an environment name."""

    prefix: Prefix
    namespace: str
    name: str
    slot: Version | str

    @classmethod
    def parse(cls, text: str) -> TagName:
        """Parse a tag name (with or without ``refs/tags/``); raise ModelError if it is not one of ours."""
        name = text.removeprefix("refs/tags/")
        m = _TAG_RE.match(name)
        if m and m.group(2) in NAMESPACE_TO_TYPE and len(m.group(3)) <= _MAX_NAME:
            # Fast path for the 10,000-tag snapshot: the regex already enforces the name alphabet.
            fast: Prefix = "components" if m.group(1) == "components" else "logic"
            return cls(fast, m.group(2), m.group(3), parse_slot(m.group(4)))
        parts = name.split("/")
        if len(parts) != 4:
            raise ModelError(f"invalid tag {name!r}: expected exactly four segments prefix/type/name/slot")
        prefix, namespace, comp, slot = parts
        if prefix not in PREFIXES:
            raise ModelError(f"invalid tag {name!r}: prefix must be 'components' or 'logic'")
        type_for_namespace(namespace)
        validate_name(comp)
        return cls(prefix, namespace, comp, parse_slot(slot))

    @classmethod
    def try_parse(cls, text: str) -> TagName | None:
        try:
            return cls.parse(text)
        except ModelError:
            return None

    @property
    def component(self) -> ComponentRef:
        return ComponentRef(self.namespace, self.name)

    @property
    def is_version(self) -> bool:
        return isinstance(self.slot, Version)

    def __str__(self) -> str:
        return f"{self.prefix}/{self.namespace}/{self.name}/{self.slot}"

    @property
    def ref(self) -> str:
        return f"refs/tags/{self}"


def parse_slot(text: str) -> Version | str:
    """A slot is a Version when it looks like one (and must then be valid), else an environment."""
    if Version.is_version_slot(text):
        return Version.parse(text)
    return validate_env(text)


def build_tag(prefix: Prefix, ref: ComponentRef, slot: Version | str) -> TagName:
    """Build a validated tag name; raises ModelError for any bad part."""
    if prefix not in PREFIXES:
        raise ModelError(f"invalid prefix {prefix!r}: must be 'components' or 'logic'")
    type_for_namespace(ref.namespace)
    validate_name(ref.name)
    if isinstance(slot, str):
        slot = parse_slot(slot)
    return TagName(prefix, ref.namespace, ref.name, slot)


def version_message(name: str, version: Version) -> str:
    """edgit's annotated-tag message for a version tag."""
    return f"Release {name} {version}"


def env_message(name: str, env: str) -> str:
    """edgit's annotated-tag message for an environment tag."""
    return f"Set {name} to {env}"
