"""The status fast path (issue 2's speed target) gives exactly what the plain, per-tag reading gives.

``build_state`` keeps each component as compact rows and builds typed tag objects on demand;
``build_status`` reads the rows; ``planner status --format json`` starts its git reads before
importing the planner. The oracles here are the straightforward per-tag implementations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from planner import state as state_module
from planner.cli import run
from planner.gitproc import Refused, git_argv, runs_no_helper, start_snapshot_reads
from planner.model import ComponentRef, TagName, Version
from planner.registry import Registry
from planner.state import LEDGER_REF, RepoState, build_state, parse_ls_remote, state_from_ls_remote
from planner.status import build_status, dump_json
from tests.gitrepo import EdgitRepo, git

PLANNER = Path(sys.executable).parent / "planner"

# --- build_state: compact rows == the per-tag reading ------------------------------------------

OIDS = ["a" * 40, "b" * 40, "c" * 40]  # few: versions and env tags often share a commit


PARTS = (  # (valid choices, hostile ones) for prefix, namespace, name, slot
    (["components", "logic"], ["widgets"]),
    (["prompts", "agents"], ["nope"]),
    (["x", "y"], ["-x", "a..b", "A", "x y"]),
    (["v1.0.0", "v1.10.0", "v1.9.0", "v1.10.0-rc.1", "staging", "prod"], ["v1.0", "v01.0.0", "-e", "x.lock"]),
)


def _tag(parts: list[str]) -> str:
    return "refs/tags/" + "/".join(parts)


valid_tags = st.tuples(*(st.sampled_from(ok) for ok, _ in PARTS)).map(lambda t: _tag(list(t)))
any_tags = st.tuples(*(st.sampled_from(ok + bad) for ok, bad in PARTS)).map(lambda t: _tag(list(t)))
other_refs = st.sampled_from([LEDGER_REF, "refs/heads/main", "refs/tags/v1.0.0", "refs/tags/components/prompts/x"])
remote_refs = st.dictionaries(
    st.one_of(valid_tags, valid_tags, valid_tags, any_tags, other_refs),
    st.tuples(st.sampled_from(OIDS), st.sampled_from(OIDS)),
    max_size=25,
)


def oracle_state(refs: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Per tag: parse the full tag name, group, sort by semver, find each env's version."""
    comps: dict[ComponentRef, dict[str, Any]] = {}
    ignored, problems, ledger = [], [], None
    for ref, (obj, commit) in refs.items():
        if ref == LEDGER_REF:
            ledger = commit
            continue
        if not ref.startswith("refs/tags/"):
            continue
        tag = TagName.try_parse(ref)
        if tag is None:
            ignored.append(ref)
            continue
        c = comps.setdefault(tag.component, {"prefix": tag.prefix, "versions": {}, "envs": {}})
        if c["prefix"] != tag.prefix:
            problems.append(f"{tag.component} has tags under both 'components/' and 'logic/' ({ref})")
            continue
        kind = "versions" if isinstance(tag.slot, Version) else "envs"
        c[kind][tag.slot] = (tag, obj, commit)
    out = {}
    for cref in sorted(comps, key=lambda r: (r.namespace, r.name)):
        c = comps[cref]
        versions = dict(sorted(c["versions"].items()))
        envs = {}
        for env, (tag, obj, commit) in sorted(c["envs"].items()):
            at = [v for v, (_, _, vc) in versions.items() if vc == commit]
            envs[env] = (tag, obj, commit, at[-1] if at else None)
        out[str(cref)] = (c["prefix"], versions, envs)
    return {"components": out, "ignored": sorted(ignored), "problems": problems, "ledger": ledger}


def observed_state(state: RepoState) -> dict[str, Any]:
    out = {}
    for cref, cs in state.components.items():
        versions = {v: (t.tag, t.object, t.commit) for v, t in cs.versions.items()}
        envs = {e: (p.tag.tag, p.tag.object, p.tag.commit, p.version) for e, p in cs.envs.items()}
        assert cs.latest == (list(versions)[-1] if versions else None)
        for v, (_, _, commit) in versions.items():
            assert v in cs.versions_at(commit)
        out[str(cref)] = (cs.prefix, versions, envs)
    return {
        "components": out,
        "ignored": list(state.ignored),
        "problems": list(state.problems),
        "ledger": state.ledger,
    }


SHARED_COMMIT = {  # two versions and an env tag at one commit: the env shows the higher version
    "refs/tags/components/prompts/x/v1.10.0-rc.1": (OIDS[0], OIDS[2]),
    "refs/tags/components/prompts/x/v1.9.0": (OIDS[1], OIDS[2]),
    "refs/tags/components/prompts/x/staging": (OIDS[1], OIDS[2]),
}


@settings(max_examples=300, deadline=None)
@given(remote_refs)
@example(SHARED_COMMIT)
def test_build_state_matches_the_per_tag_reading(refs: dict[str, tuple[str, str]]) -> None:
    state = build_state("r", refs)
    assert observed_state(state) == oracle_state(refs)
    assert state.refs == {ref: obj for ref, (obj, _) in refs.items()}


def ls_remote_text(refs: dict[str, tuple[str, str]]) -> str:
    """What ``git ls-remote`` prints: a ref line, then a ``^{}`` line when the ref is peeled."""
    return "".join(
        f"{obj}\t{ref}\n" + (f"{commit}\t{ref}^{{}}\n" if commit != obj else "") for ref, (obj, commit) in refs.items()
    )


@st.composite
def ls_remote_outputs(draw: st.DrawFn) -> str:
    """git's own output, or the same with what git never writes: a line moved, repeated or broken."""
    lines = ls_remote_text(draw(remote_refs)).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 2))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["move", "repeat", "blank", "no tab", "cut newline"]))
        if edit == "move":
            lines.insert(draw(st.integers(0, len(lines))), lines.pop(i))
        elif edit == "repeat":
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
        elif edit == "blank":
            lines.insert(i, "\n")
        elif edit == "no tab":
            lines[i] = lines[i].replace("\t", " ")
        else:
            lines[i] = lines[i].rstrip("\n")
    return "".join(lines)


@settings(max_examples=400, deadline=None)
@given(ls_remote_outputs(), st.booleans())
@example(ls_remote_text(SHARED_COMMIT), False)
def test_one_pass_snapshot_equals_the_two_step_reading(text: str, with_local: bool) -> None:
    local = {"refs/tags/components/prompts/x/staging": OIDS[0]} if with_local else None
    expected = build_state("r", parse_ls_remote(text), local)
    state = state_from_ls_remote("r", text, local)
    assert state == expected
    assert list(state.components) == list(expected.components)  # the order status prints


def test_one_pass_snapshot_reads_git_output_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # git's own output never takes the two-step path (that is where the time goes on 10,000 tags).
    text = ls_remote_text({**SHARED_COMMIT, LEDGER_REF: (OIDS[0], OIDS[0]), "refs/tags/-x": (OIDS[1], OIDS[2])})

    def refuse(text: str) -> dict[str, tuple[str, str]]:
        raise AssertionError("the one-pass reading fell back on git's own output")

    expected = build_state("r", parse_ls_remote(text))
    monkeypatch.setattr(state_module, "parse_ls_remote", refuse)
    state = state_from_ls_remote("r", text)
    assert state == expected and state.ledger == OIDS[0] and state.ignored == ("refs/tags/-x",)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=5))
@example({"path": "prompts/caf\u00e9.yaml", "ctl": '\x00\x1f\x7f"\\/', "astral": "\U0001f600", "lone": "\ud800"})
@example({"path": "prompts/a\x7fb.md", "\x7f": ['\x00\x1f"\\/']})  # DEL alone: ASCII, yet json escapes it
def test_dump_json_is_the_json_modules_output(doc: dict[str, Any]) -> None:
    assert dump_json(doc) == json.dumps(doc, separators=(",", ":")) + "\n"


def oracle_component_doc(ref: ComponentRef, cs: Any, envs: list[str]) -> dict[str, Any]:
    """The status entry of an unregistered component, read from the typed objects."""
    env_docs = {}
    for env in envs:
        p = cs.envs.get(env)
        env_docs[env] = (
            None
            if p is None
            else {
                "version": str(p.version) if p.version else None,
                "commit": p.tag.commit,
                "tag_object": p.tag.object,
                "ref": p.tag.ref,
            }
        )
    return {
        "component": str(ref),
        "type": ref.type,
        "name": ref.name,
        "prefix": cs.prefix,
        "needs_rebuild": cs.prefix == "logic",
        "registered": False,
        "path": None,
        "uses": [],
        "latest": str(cs.latest) if cs.latest else None,
        "versions": [str(v) for v in cs.versions],
        "envs": env_docs,
    }


@settings(max_examples=200, deadline=None)
@given(
    remote_refs,
    st.dictionaries(st.sampled_from(sorted(r for r in OIDS)), st.sampled_from(OIDS), max_size=3),
    st.sampled_from([None, "staging", "prod", "dev"]),
)
def test_status_document_matches_the_typed_objects(
    refs: dict[str, tuple[str, str]], local_seed: dict[str, str], env: str | None
) -> None:
    # Local tags: some equal to the remote's, some stale, some never pushed.
    local = {ref: local_seed.get(obj, obj) for ref, (obj, _) in list(refs.items())[:5]}
    local["refs/tags/components/prompts/local-only/v1.0.0"] = OIDS[0]
    state = build_state("r", refs, local)
    doc = build_status(Registry(), state, env=env)
    envs = [env] if env else sorted({e for cs in state.components.values() for e in cs.envs})
    assert doc["environments"] == envs
    assert doc["components"] == [oracle_component_doc(r, cs, envs) for r, cs in state.components.items()]
    expected_div = [
        {"ref": ref, "local": oid, "remote": refs[ref][0] if ref in refs else None}
        for ref, oid in sorted(local.items())
        if ref not in refs or refs[ref][0] != oid
    ]
    assert doc["divergences"] == expected_div


# --- the console script starts git before importing the planner --------------------------------


def test_git_argv_refuses_option_like_names() -> None:
    assert git_argv(["ls-remote", "origin"]) == ["git", "ls-remote", "origin"]
    with pytest.raises(Refused, match="would be read as an option"):
        git_argv(["ls-remote", "--upload-pack=touch /tmp/x"])
    with pytest.raises(Refused, match="transport helper"):
        start_snapshot_reads("ext::sh -c touch% /tmp/x", ".")


@pytest.fixture
def unconfigured(edgit_repo: EdgitRepo) -> EdgitRepo:
    """A repository without planner.toml (so the fast path starts git first), with a stale local tag."""
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.set_env("components/prompts/extraction", "staging", "v1.0.0", nested=True)
    edgit_repo.push()
    git(edgit_repo.work, "tag", "-f", "-a", "-m", "moved", "components/prompts/extraction/staging", c1)
    assert not (edgit_repo.work / "planner.toml").exists()
    return edgit_repo


def console(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PLANNER), *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("remote_opt", [[], ["--remote", "REMOTE"]], ids=["origin", "explicit"])
def test_early_start_matches_typer_path(
    unconfigured: EdgitRepo, remote_opt: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    opts = [str(unconfigured.remote) if a == "REMOTE" else a for a in remote_opt]
    args = ["status", "--format", "json", "--repo", str(unconfigured.work), *opts]
    fast = console(*args)
    assert fast.returncode == 0, fast.stderr
    assert run(args) == 0
    out, err = capsys.readouterr()
    assert fast.stdout == out  # byte for byte
    assert fast.stderr == err
    doc = json.loads(fast.stdout)
    assert doc["divergences"][0]["ref"] == "refs/tags/components/prompts/extraction/staging"
    assert "local tag is stale" in fast.stderr


def test_early_start_errors_fall_back_to_the_full_cli(unconfigured: EdgitRepo) -> None:
    repo = str(unconfigured.work)
    # A remote git must not see: refused before git starts, reported by the full CLI.
    bad = console("status", "--format", "json", "--repo", repo, "--remote", "ext::sh -c true")
    assert bad.returncode == 1 and bad.stdout == ""
    assert "transport helper 'ext::'" in bad.stderr and "Traceback" not in bad.stderr
    # git started, then the arguments turn out wrong: the reads are dropped, the error is the CLI's.
    bad = console("status", "--format", "json", "--repo", repo, "--env", "v1.0.0")
    assert bad.returncode == 1 and bad.stdout == ""
    assert "invalid environment name" in bad.stderr and "Traceback" not in bad.stderr
    # A remote that does not exist: git's own error, once.
    bad = console("status", "--format", "json", "--repo", repo, "--remote", str(unconfigured.work / "missing.git"))
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("is not a git repository, or it does not exist") == 1
    # A repository directory that does not exist.
    bad = console("status", "--format", "json", "--repo", str(unconfigured.work / "nowhere"))
    assert bad.returncode == 1 and bad.stdout == "" and "Traceback" not in bad.stderr


# --- review findings: helpers that outlive git, output errors, non-repositories ----------------


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("/srv/git/remote.git", True),
        ("./remote.git", True),
        ("../a:b/remote.git", True),  # a colon after the first slash: still a path
        ("file:///srv/remote.git", True),
        ("git://127.0.0.1/remote.git", True),
        ("origin", False),  # a remote name may stand for any URL
        ("https://example.invalid/x.git", False),  # git-remote-http
        ("ssh://git@example.invalid/x.git", False),
        ("git@example.invalid:x/y.git", False),  # scp-like: ssh
    ],
)
def test_runs_no_helper(remote: str, expected: bool) -> None:
    assert runs_no_helper(remote) is expected


def _leftover(marker: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in ps.splitlines() if marker in line and "ps -eo" not in line]


@pytest.mark.parametrize("break_what", ["env", "registry"])
def test_failed_status_leaves_no_git_helper_running(unconfigured: EdgitRepo, break_what: str) -> None:
    marker = "sleep 29.25"  # stands in for an ssh connection that takes long to give up
    args = ["status", "--format", "json", "--repo", str(unconfigured.work), "--remote", "git@example.invalid:x/y.git"]
    if break_what == "env":
        args += ["--env", "bad env"]
    else:
        (unconfigured.work / ".edgit" / "components.json").write_text("{ not json")
    env = {**os.environ, "GIT_SSH_COMMAND": f"{marker} #"}
    proc = subprocess.run([str(PLANNER), *args], capture_output=True, text=True, timeout=60, check=False, env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "error" in proc.stderr and "Traceback" not in proc.stderr
    assert _leftover(marker) == []


def _quiet_env() -> dict[str, str]:
    # Buffered stdout, as for a user (this sandbox exports PYTHONUNBUFFERED=1).
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_output_errors_are_reported_or_quiet(unconfigured: EdgitRepo, unbuffered: bool, tmp_path: Path) -> None:
    # A remote whose document is larger than a pipe holds (64 KiB): the reader goes away mid-write.
    commit = git(unconfigured.work, "rev-parse", "HEAD")
    refs = "".join(f"create refs/tags/components/prompts/p{i:04d}/v1.0.0 {commit}\n" for i in range(1500))
    git(unconfigured.remote, "update-ref", "--stdin", input=refs.encode())
    args = [str(PLANNER), "status", "--format", "json", "--repo", str(unconfigured.work), "--remote"]
    args.append(str(unconfigured.remote))
    env = {**_quiet_env(), "PYTHONUNBUFFERED": "1"} if unbuffered else _quiet_env()
    whole = subprocess.run(args, capture_output=True, env=env, check=True).stdout
    assert len(whole) > 65536 and json.loads(whole)["components"]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "error: cannot write output: No space left on device" in proc.stderr
    # A reader that goes away (`| head -c 10`): exit 1, nothing on stderr but the status warnings.
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.read(10) == whole[:10]  # takes a little while git's output is still coming
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=60) == 1  # never 0: the document was not all written
    assert "Traceback" not in err and "Exception ignored" not in err


def test_fast_path_refuses_a_directory_that_is_not_a_repository(
    tmp_path: Path, unconfigured: EdgitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["status", "--format", "json", "--repo", str(tmp_path / "plain"), "--remote", str(unconfigured.remote)]
    (tmp_path / "plain").mkdir()
    fast = console(*args)
    assert run(args) == 1
    _, err = capsys.readouterr()
    assert fast.returncode == 1 and fast.stdout == ""
    assert (
        fast.stderr
        == err
        == f"error: {tmp_path / 'plain'} is not inside a git repository (no .git here or in any parent directory)\n"
    )


def test_component_state_compares_by_value_and_shows_its_tags() -> None:
    refs = {
        "refs/tags/components/prompts/x/v1.0.0": (OIDS[0], OIDS[0]),
        "refs/tags/components/prompts/x/dev": (OIDS[0], OIDS[0]),
    }
    a, b = build_state("r", refs), build_state("r", dict(refs))
    assert a == b
    assert a != build_state("r", {**refs, "refs/tags/components/prompts/x/v1.1.0": (OIDS[1], OIDS[1])})
    assert repr(a.components[ComponentRef("prompts", "x")]) == (
        "ComponentState(prompts/x, 'components', versions=['v1.0.0'], envs={'dev': 'v1.0.0'})"
    )


def test_early_start_over_git_daemon_matches_typer_path(
    unconfigured: EdgitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.gitrepo import git_daemon

    with git_daemon(unconfigured.remote.parent) as url:
        remote = f"{url}/{unconfigured.remote.name}"
        assert runs_no_helper(remote)  # git:// is read by git itself: the fast path starts it first
        args = ["status", "--format", "json", "--repo", str(unconfigured.work), "--remote", remote]
        fast = console(*args)
        assert run(args) == 0
    out, err = capsys.readouterr()
    assert fast.returncode == 0 and (fast.stdout, fast.stderr) == (out, err)
    assert json.loads(out)["components"][0]["versions"] == ["v1.0.0"]
