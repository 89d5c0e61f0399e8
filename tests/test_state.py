from __future__ import annotations

from planner.gitio import Remote, Repo
from planner.model import ComponentRef, Version
from planner.state import snapshot
from tests.gitrepo import EdgitRepo, git_daemon


def test_nested_edgit_env_tag_peels_to_version(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.set_env("components/prompts/extraction", "staging", "v1.0.0", nested=True)
    edgit_repo.push()
    state = snapshot(Repo(edgit_repo.work), Remote(str(edgit_repo.remote)))
    cs = state.components[ComponentRef("prompts", "extraction")]
    assert cs.envs["staging"].version == Version.parse("v1.0.0")
    assert cs.envs["staging"].tag.commit == c1
    assert state.divergences == ()


def test_git_daemon_remote(edgit_repo: EdgitRepo) -> None:
    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.push()
    with git_daemon(edgit_repo.remote.parent) as url:
        state = snapshot(Repo(edgit_repo.work), Remote(f"{url}/remote.git"))
    assert list(state.components[ComponentRef("prompts", "extraction")].versions) == [Version.parse("v1.0.0")]


# --- nested and straight env tags, stale local tags, hostile remote names ---------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from planner.cli import run  # noqa: E402
from planner.gitio import GitError  # noqa: E402
from planner.gitremote import parse_ls_remote  # noqa: E402
from planner.state import build_state  # noqa: E402
from tests.gitrepo import git  # noqa: E402

EXT = "components/prompts/extraction"
EXTRACTION = ComponentRef("prompts", "extraction")


def released(repo: EdgitRepo) -> tuple[str, str]:
    c1 = repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    repo.tag_version(EXT, "v1.0.0", c1)
    repo.write("prompts/extraction.md", "v2\n")
    c2 = repo.commit("v2")
    repo.tag_version(EXT, "v1.10.0", c2)
    repo.tag_version(EXT, "v1.9.0", c1)
    repo.tag_version(EXT, "v1.10.0-rc.1", c2)
    repo.set_env(EXT, "production", "v1.0.0", nested=True)  # edgit: env tag object -> version tag object
    repo.set_env(EXT, "staging", "v1.10.0", nested=False)  # planner: env tag object -> commit
    return c1, c2


def test_versions_semver_sorted_and_envs_resolved(edgit_repo: EdgitRepo) -> None:
    c1, c2 = released(edgit_repo)
    edgit_repo.push()
    state = snapshot(Repo(edgit_repo.work), Remote(f"file://{edgit_repo.remote}"))
    cs = state.components[EXTRACTION]
    assert [str(v) for v in cs.versions] == ["v1.0.0", "v1.9.0", "v1.10.0-rc.1", "v1.10.0"]
    assert cs.latest == Version.parse("v1.10.0")
    prod, staging = cs.envs["production"], cs.envs["staging"]
    # edgit nested production on v1.0.0's tag object: that version, not the highest at c1 (v1.9.0)
    assert (prod.tag.commit, prod.version) == (c1, Version.parse("v1.0.0"))
    # straight at c2, not in any ledger: the highest version there, and a problem says so
    assert (staging.tag.commit, staging.version) == (c2, Version.parse("v1.10.0"))
    assert [p for p in state.problems if "share its commit" in p] == [
        f"refs/tags/{EXT}/staging: versions v1.10.0-rc.1, v1.10.0 share its commit {c2[:12]} and neither its "
        "tag object nor the ledger says which one it names; showing the highest (v1.10.0)"
    ]
    # the nested env tag object is not the version tag object, and neither is the commit
    assert prod.tag.object not in (c1, cs.versions[Version.parse("v1.0.0")].object)
    assert state.divergences == ()


def test_env_tag_straight_at_commit_without_version(edgit_repo: EdgitRepo) -> None:
    released(edgit_repo)
    c3 = edgit_repo.commit("unreleased")
    git(edgit_repo.work, "tag", "-a", f"{EXT}/canary", "-m", "Set extraction to canary", c3)
    git(edgit_repo.work, "tag", f"{EXT}/dev", c3)  # lightweight: object == commit
    edgit_repo.push()
    cs = snapshot(Repo(edgit_repo.work), Remote(str(edgit_repo.remote))).components[EXTRACTION]
    assert cs.envs["canary"].version is None and cs.envs["canary"].tag.commit == c3
    assert cs.envs["dev"].tag.object == c3 and cs.envs["dev"].version is None


def test_stale_and_local_only_tags_are_reported(edgit_repo: EdgitRepo, tmp_path: Path) -> None:
    _c1, c2 = released(edgit_repo)
    edgit_repo.push()
    # Someone else moves production on the remote; our local tag goes stale.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(edgit_repo.remote), str(other))
    git(
        other,
        "-c",
        "advice.nestedTag=false",
        "tag",
        "-f",
        "-a",
        f"{EXT}/production",
        "-m",
        "Set extraction to production",
        c2,
    )
    git(other, "push", "-q", "--force", "origin", f"refs/tags/{EXT}/production")
    git(edgit_repo.work, "tag", "-a", f"{EXT}/v2.0.0", "-m", "Release extraction v2.0.0", c2)  # never pushed
    state = snapshot(Repo(edgit_repo.work), Remote("origin"))
    assert state.components[EXTRACTION].envs["production"].tag.commit == c2  # the remote wins
    by_ref = {d.ref: d for d in state.divergences}
    assert set(by_ref) == {f"refs/tags/{EXT}/production", f"refs/tags/{EXT}/v2.0.0"}
    assert "stale" in by_ref[f"refs/tags/{EXT}/production"].describe()
    assert by_ref[f"refs/tags/{EXT}/v2.0.0"].remote is None
    assert Version.parse("v2.0.0") not in state.components[EXTRACTION].versions


HOSTILE = [
    "refs/tags/components/prompts/-x/staging",
    "refs/tags/components/prompts/extraction/Staging",
    "refs/tags/components/prompts/extraction/eu/staging",
    "refs/tags/components/prompts/extraction/v01.0.0",
    "refs/tags/components/widgets/extraction/v1.0.0",
    "refs/tags/logic/prompts/--upload-pack=x/v1.0.0",
]


def test_hostile_remote_names_ignored_and_reported(edgit_repo: EdgitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    c1, _ = released(edgit_repo)
    edgit_repo.push()
    stdin = "".join(f"create {ref} {c1}\n" for ref in HOSTILE).encode()
    git(edgit_repo.remote, "update-ref", "--stdin", input=stdin)
    state = snapshot(Repo(edgit_repo.work), Remote(str(edgit_repo.remote)))
    assert set(state.ignored) == set(HOSTILE)
    assert list(state.components) == [EXTRACTION]
    assert set(state.components[EXTRACTION].envs) == {"production", "staging"}
    code = run(["status", "--repo", str(edgit_repo.work), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0
    doc = json.loads(out)  # stdout is JSON alone
    assert set(doc["ignored_refs"]) == set(HOSTILE)
    assert "ignored remote ref with an invalid tag name: 'refs/tags/components/prompts/-x/staging'" in err


def test_component_under_both_prefixes_is_a_problem() -> None:
    refs = {
        "refs/tags/components/prompts/a/v1.0.0": ("1" * 40, "1" * 40),
        "refs/tags/logic/prompts/a/v2.0.0": ("2" * 40, "2" * 40),
    }
    state = build_state(Remote("r"), refs)
    assert state.problems and "both" in state.problems[0]


def test_parse_ls_remote_peels() -> None:
    text = "aaa\trefs/tags/x\nbbb\trefs/tags/x^{}\nccc\trefs/tags/y\n"
    assert parse_ls_remote(text) == {"refs/tags/x": ("aaa", "bbb"), "refs/tags/y": ("ccc", "ccc")}


def test_option_like_remote_refused(tmp_path: Path) -> None:
    # Refused when the Remote is made: no module can hand git an option as a remote.
    with pytest.raises(GitError, match="option"):
        snapshot(Repo(tmp_path), Remote("--upload-pack=touch /tmp/pwned"))


def test_git_daemon_nested_envs(edgit_repo: EdgitRepo) -> None:
    c1, _c2 = released(edgit_repo)
    edgit_repo.push()
    with git_daemon(edgit_repo.remote.parent) as url:
        state = snapshot(Repo(edgit_repo.work), Remote(f"{url}/remote.git"))
    cs = state.components[EXTRACTION]
    assert cs.envs["production"].tag.commit == c1 and cs.envs["staging"].version == Version.parse("v1.10.0")
    assert state.divergences == ()


# --- the collector is paused while a snapshot is built, and only then ---------------------------

import gc  # noqa: E402

from planner.collector import collector_paused  # noqa: E402


def test_collector_paused_restores_the_collector_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner exit must not resume it early
            pass
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that paused it itself keeps it paused
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_snapshot_runs_with_the_collector_paused_and_resumes_it(
    edgit_repo: EdgitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.state as state_mod

    c1 = edgit_repo.register("extraction", "prompt", "prompts/extraction.md", "v1\n")
    edgit_repo.tag_version("components/prompts/extraction", "v1.0.0", c1)
    edgit_repo.push()
    seen: list[bool] = []
    real = state_mod.build_state

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(state_mod, "build_state", spy)
    snapshot(Repo(edgit_repo.work), Remote(str(edgit_repo.remote)))
    assert seen == [False]
    assert gc.isenabled()


def test_stderr_warnings_are_capped_per_kind_with_a_count() -> None:
    from planner.status import SHOWN_PER_KIND, state_warnings

    n = SHOWN_PER_KIND + 3
    doc = {
        "divergences": [{"ref": f"refs/tags/x{i}", "local": "a" * 40, "remote": None} for i in range(n)],
        "ignored_refs": [f"refs/tags/components/bad{i}" for i in range(2)],
        "problems": [f"problem {i}" for i in range(n + 1)],
    }
    lines = state_warnings(doc)
    assert sum("exists locally" in line for line in lines) == SHOWN_PER_KIND
    assert sum("ignored remote ref" in line for line in lines) == 2  # under the cap: every one, no count
    assert sum(line.startswith("warning: problem ") for line in lines) == SHOWN_PER_KIND
    assert [line for line in lines if "more" in line] == [
        "warning: ... and 3 more local tags that differ from the remote "
        "(`planner status --format json` lists them all under 'divergences')",
        "warning: ... and 4 more problems (`planner status --format json` lists them all under 'problems')",
    ]
    assert len(lines) == SHOWN_PER_KIND * 2 + 2 + 2
