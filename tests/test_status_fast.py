"""``planner status`` at speed gives exactly what the plain, per-tag reading gives.

``build_state`` keeps each component as compact rows and builds typed tag objects on demand;
``build_status`` reads the rows. The oracles here are the straightforward per-tag implementations.
The console script is the Typer CLI (no hand-parsed fast path): its output equals an in-process run.
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

from planner.cli import run
from planner.gitio import Refused, Remote, git_argv, start_snapshot_reads
from planner.gitremote import parse_ls_remote
from planner.model import LEDGER_REF, ComponentRef, TagName, Version
from planner.registry import Registry
from planner.state import RepoState, build_state
from planner.status import build_status
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
    state = build_state(Remote("r"), refs)
    assert observed_state(state) == oracle_state(refs)
    assert state.refs == {ref: obj for ref, (obj, _) in refs.items()}


def ls_remote_text(refs: dict[str, tuple[str, str]]) -> str:
    """What ``git ls-remote`` prints: a ref line, then a ``^{}`` line when the ref is peeled."""
    return "".join(
        f"{obj}\t{ref}\n" + (f"{commit}\t{ref}^{{}}\n" if commit != obj else "") for ref, (obj, commit) in refs.items()
    )


@settings(max_examples=300, deadline=None)
@given(remote_refs)
@example(SHARED_COMMIT)
def test_snapshot_reads_what_ls_remote_prints(refs: dict[str, tuple[str, str]]) -> None:
    # The one ls-remote reader: git's text back to the refs it lists, then the same snapshot.
    text = ls_remote_text(refs)
    assert parse_ls_remote(text) == refs
    assert observed_state(build_state(Remote("r"), parse_ls_remote(text))) == oracle_state(refs)


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
    state = build_state(Remote("r"), refs, local)
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


# --- the console script: the same output as the CLI run in-process -------------------------------


def test_git_argv_refuses_option_like_names() -> None:
    assert git_argv(["ls-remote", "origin"]) == ["git", "ls-remote", "origin"]
    with pytest.raises(Refused, match="would be read as an option"):
        git_argv(["ls-remote", "--upload-pack=touch /tmp/x"])
    with pytest.raises(Refused, match="transport helper"):
        start_snapshot_reads("ext::sh -c touch% /tmp/x", ".")


@pytest.fixture
def unconfigured(edgit_repo: EdgitRepo) -> EdgitRepo:
    """A repository without planner.toml, with a stale local tag."""
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
def test_console_script_matches_the_cli_in_process(
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


def test_status_json_errors_are_sentences(unconfigured: EdgitRepo) -> None:
    repo = str(unconfigured.work)
    # A remote git must not see: refused before git starts.
    bad = console("status", "--format", "json", "--repo", repo, "--remote", "ext::sh -c true")
    assert bad.returncode == 1 and bad.stdout == ""
    assert "transport helper 'ext::'" in bad.stderr and "Traceback" not in bad.stderr
    # A wrong argument: refused before any read.
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


def test_status_refuses_a_directory_that_is_not_a_repository(
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
    a, b = build_state(Remote("r"), refs), build_state(Remote("r"), dict(refs))
    assert a == b
    assert a != build_state(Remote("r"), {**refs, "refs/tags/components/prompts/x/v1.1.0": (OIDS[1], OIDS[1])})
    assert repr(a.components[ComponentRef("prompts", "x")]) == (
        "ComponentState(prompts/x, 'components', versions=['v1.0.0'], envs={'dev': 'v1.0.0'})"
    )


def test_status_over_git_daemon_matches_the_cli_in_process(
    unconfigured: EdgitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.gitrepo import git_daemon

    with git_daemon(unconfigured.remote.parent) as url:
        remote = f"{url}/{unconfigured.remote.name}"
        args = ["status", "--format", "json", "--repo", str(unconfigured.work), "--remote", remote]
        fast = console(*args)
        assert run(args) == 0
    out, err = capsys.readouterr()
    assert fast.returncode == 0 and (fast.stdout, fast.stderr) == (out, err)
    assert json.loads(out)["components"][0]["versions"] == ["v1.0.0"]
