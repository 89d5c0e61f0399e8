"""A GitHub Actions runner for action.yml, and a small world to run it in.

``run_action`` executes action.yml's steps in order as the runner does for a composite action:
inputs with their defaults, ``${{ }}`` expressions (inputs, github.action_path, github.token,
steps.ID.outputs.NAME), each ``run:`` step as ``bash --noprofile --norc -eo pipefail FILE`` with
the step's env, the files GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_PATH read back after each
step, a failing step ending the job. ``uses: actions/setup-python@SHA`` must be pinned by a full
SHA; it is emulated by the interpreter running the tests (its ``python-path`` output). The install
step really runs (a venv, pip install of this checkout, wheels only), once per test session; later
jobs replay its GITHUB_PATH line (as a warm tool cache would), which keeps the suite fast.

``run_workflow_job`` executes one job of a workflow the same way (checkout, ``run:`` steps,
``uses: ./`` or a named action resolved to this repository's action.yml). ``World.run_pr`` and
``World.run_apply`` run the jobs of examples/github/*.yml as written.

``World``: a bare remote (origin, as on GitHub), a developer clone that opens and merges pull
requests, a fresh clone per job (actions/checkout with fetch-depth 0), Cloudflare KV
(tests/cfkv_server.py) and GitHub's REST API (tests/github_server.py) on loopback.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.cfkv_server import ACCOUNT, TOKEN, CFKVServer
from tests.github_server import WORKFLOW_TOKEN, GitHubServer
from tests.gitrepo import GIT_ENV, EdgitRepo, git

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / ".ci/node/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_INSTALLED: dict[str, list[str]] = {}  # install step script -> the GITHUB_PATH lines it wrote


@dataclass
class StepResult:
    id: str | None
    name: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class JobResult:
    steps: list[StepResult]
    outputs: dict[str, dict[str, str]]  # step id -> outputs
    summary: str
    action_outputs: dict[str, str] = field(default_factory=dict)  # the action's own ``outputs:``
    path: list[str] = field(default_factory=list)  # GITHUB_PATH lines: later steps of the job see them

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    @property
    def log(self) -> str:
        return "\n".join(s.stdout + s.stderr for s in self.steps)


def parse_output_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT: ``name=value`` lines and ``name<<DELIM`` ... ``DELIM`` blocks."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def _eval(text: str, ctx: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        cur: Any = ctx
        path = m.group(1).split(".")
        for n, part in enumerate(path):
            if n == 3 and path[0] == "steps" and path[2] == "outputs" and part not in cur:
                return ""  # an output the step did not write is empty, as on GitHub
            if n == 1 and path[0] == "secrets" and part not in cur:
                return ""  # a secret that is not set (e.g. on a fork's pull request) is empty
            if not isinstance(cur, dict) or part not in cur:
                raise AssertionError(f"the runner cannot evaluate ${{{{ {m.group(1)} }}}}")
            cur = cur[part]
        return "" if cur is None else str(cur)

    return _EXPR.sub(one, text)


@functools.cache
def runner_temp() -> Path:
    """RUNNER_TEMP, one per test process (removed at exit): the action's copy and the install
    step's venv live here, as in a runner's tool cache."""
    path = Path(tempfile.mkdtemp(prefix="gh-runner-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def action_checkout(runner_temp: Path) -> Path:
    """The action as the runner downloads it (``_actions/OWNER/NAME/REF``): this repository's
    tracked files, copied once per test session (a build inside the worktree would race between
    test workers and leave build/ behind)."""
    dest = runner_temp / "_actions" / "release-planner"
    if not (dest / "action.yml").exists():
        tmp = copy_tracked(Path(tempfile.mkdtemp(dir=runner_temp)))
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
    return dest / "action.yml"


def run_action(workspace: Path, inputs: dict[str, str], env: dict[str, str], *, action: Path) -> JobResult:
    doc = yaml.safe_load(action.read_text(encoding="utf-8"))
    token = env.get("GITHUB_TOKEN_FOR_JOB", "")
    given = {k: v for k, v in inputs.items()}
    for name in given:
        assert name in doc["inputs"], f"action.yml has no input {name!r}"
    ctx: dict[str, Any] = {"github": {"action_path": str(action.parent), "token": token}, "steps": {}}
    ctx["inputs"] = {
        name: given[name] if name in given else _eval(str(spec.get("default", "")), ctx)
        for name, spec in doc["inputs"].items()
    }
    files = Path(tempfile.mkdtemp(prefix="runner-", dir=workspace.parent))
    summary = files / "summary.md"
    summary.touch()
    path_file = files / "path"
    path_file.touch()
    extra_path: list[str] = []
    results: list[StepResult] = []
    outputs: dict[str, dict[str, str]] = {}
    for n, step in enumerate(doc["runs"]["steps"]):
        sid = step.get("id")
        name = _eval(str(step.get("name", step.get("uses", f"step {n}"))), ctx)
        if "uses" in step:
            uses = step["uses"]
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{uses}: not pinned by a full commit SHA"
            assert uses.startswith("actions/setup-python@"), f"the runner emulates only setup-python, not {uses}"
            outs = {"python-path": sys.executable, "python-version": ".".join(map(str, sys.version_info[:3]))}
            if sid:
                outputs[sid] = outs
                ctx["steps"][sid] = {"outputs": outs}
            continue
        assert step.get("shell") == "bash", f"{name}: a composite action's run step must name its shell"
        script = step["run"]
        step_env = {k: _eval(str(v), ctx) for k, v in (step.get("env") or {}).items()}
        out_file = files / f"output-{n}"
        out_file.touch()
        full_env = {
            **{k: v for k, v in env.items() if k != "GITHUB_TOKEN_FOR_JOB"},
            "GITHUB_OUTPUT": str(out_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_PATH": str(path_file),
            "GITHUB_ACTION_PATH": str(action.parent),
            **step_env,
        }
        full_env["PATH"] = os.pathsep.join([*reversed(extra_path), env["PATH"]])
        if "pip install" in script and script in _INSTALLED:
            extra_path += _INSTALLED[script]
            results.append(StepResult(sid, name, 0, "(installed earlier in this session)\n", ""))
            continue
        before = path_file.read_text().splitlines()
        # `shell: bash`, as GitHub runs it
        proc = _run_script(
            files / f"step-{n}.sh", script, ["bash", "--noprofile", "--norc", "-eo", "pipefail"], workspace, full_env
        )
        results.append(StepResult(sid, name, proc.returncode, proc.stdout, proc.stderr))
        added = path_file.read_text().splitlines()[len(before) :]
        extra_path += added
        if "pip install" in script and proc.returncode == 0:
            _INSTALLED[script] = added
        outs = parse_output_file(out_file.read_text(encoding="utf-8"))
        if sid:
            outputs[sid] = outs
            ctx["steps"][sid] = {"outputs": outs}
        if proc.returncode != 0:
            break
    declared = {name: _eval(str(spec.get("value", "")), ctx) for name, spec in (doc.get("outputs") or {}).items()}
    return JobResult(results, outputs, summary.read_text(encoding="utf-8"), declared, extra_path)


def _run_script(
    path: Path, text: str, shell: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A ``run:`` step: its script written to ``path`` and run by ``shell`` (output captured)."""
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [*shell, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def copy_tracked(dest: Path) -> Path:
    """This repository's tracked (and untracked, not ignored) files, copied to ``dest``: what
    ``actions/checkout`` gives a workflow of this repository."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, files.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def run_workflow_job(
    workflow: Path,
    job: str,
    workspace: Path,
    env: dict[str, str],
    *,
    checkout: Callable[[Path], None] | None = None,
    actions: dict[str, Path] | None = None,
    secrets: dict[str, str] | None = None,
) -> JobResult:
    """One job of a workflow, its steps in order as the runner runs them: ``actions/checkout@SHA``
    (``checkout(workspace)``; by default this repository's files), ``run:`` steps (``bash -e``,
    the default shell, with the step's ``env``), and actions: ``uses: ./`` (the checkout's
    action.yml) or a name in ``actions`` (e.g. ``OWNER/release-planner@v1`` -> this repository's
    action.yml), run through run_action; their declared outputs become the step's, and their inner
    steps' outputs are kept under their own ids too (for assertions). Expressions:
    ``runner.temp``, ``secrets.NAME`` (unset: empty, as on a fork), ``github.token``,
    ``steps.ID.outputs.NAME``. GITHUB_PATH lines carry over to the later steps, as on GitHub."""
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    temp = Path(env["RUNNER_TEMP"])
    token = env.get("GITHUB_TOKEN_FOR_JOB", "")
    ctx: dict[str, Any] = {
        "runner": {"temp": str(temp)},
        "steps": {},
        "secrets": dict(secrets or {}),
        "github": {"token": token},
    }
    known = {"./": workspace / "action.yml", **(actions or {})}
    results: list[StepResult] = []
    outputs: dict[str, dict[str, str]] = {}
    summary, extra_path = "", []
    for n, step in enumerate(doc["jobs"][job]["steps"]):
        sid, uses = step.get("id"), step.get("uses")
        name = str(step.get("name") or uses or f"step {n}")
        step_env = {k: _eval(str(v), ctx) for k, v in (step.get("env") or {}).items()}
        full_env = {**env, **step_env, "PATH": os.pathsep.join([*reversed(extra_path), env["PATH"]])}
        if uses is not None and uses.startswith("actions/checkout@"):
            assert re.fullmatch(r"actions/checkout@[0-9a-f]{40}", uses), f"{uses}: not pinned by a full commit SHA"
            (checkout or copy_tracked)(workspace)
            results.append(StepResult(sid, name, 0, "", ""))
            continue
        if uses is not None:
            assert uses in known, f"the harness runs checkout, run: steps and {sorted(known)}, not {uses}"
            inputs = {k: _eval(str(v), ctx) for k, v in (step.get("with") or {}).items()}
            inner = run_action(workspace, inputs, full_env, action=known[uses])
            results += inner.steps
            summary += inner.summary
            extra_path += inner.path
            outputs.update(inner.outputs)
            outs = inner.action_outputs
        else:
            out_file = temp / f"{job}-output-{n}"
            out_file.write_text("")
            step_env = {
                **{k: v for k, v in full_env.items() if k != "GITHUB_TOKEN_FOR_JOB"},
                "GITHUB_OUTPUT": str(out_file),
            }
            # no `shell:`: GitHub's default, bash -e
            proc = _run_script(
                temp / f"{job}-step-{n}.sh", _eval(step["run"], ctx), ["bash", "-e"], workspace, step_env
            )
            results.append(StepResult(sid, name, proc.returncode, proc.stdout, proc.stderr))
            outs = parse_output_file(out_file.read_text(encoding="utf-8"))
        if sid:
            outputs[sid] = outs
            ctx["steps"][sid] = {"outputs": outs}
        if results[-1].returncode != 0:
            break
    return JobResult(results, outputs, summary, {}, extra_path)


# ---- the world ------------------------------------------------------------------------------

EXT, ANA, RTR = "components/prompts/extraction", "components/agents/analyzer", "logic/scripts/router"
WRANGLER = """name = "app"
[env.staging]
[[env.staging.kv_namespaces]]
binding = "COMPONENTS_KV"
id = "ns-staging"
[env.production]
[[env.production.kv_namespaces]]
binding = "COMPONENTS_KV"
id = "ns-production"
"""
PLANNER_TOML = """environments = ["staging", "production"]
[kv]
store = "cloudflare"
[kv.env.staging]
store = "cloudflare"
wrangler_env = "staging"
[kv.env.production]
store = "cloudflare"
wrangler_env = "production"
"""


def webhook(name: str, action: str | None) -> dict[str, Any]:
    """The first published example payload of ``name`` (with ``action``) from @octokit/webhooks-examples."""
    if not EXAMPLES.exists():
        raise AssertionError(f"{EXAMPLES} is missing: run the npm install line of .ci/run")
    for group in json.loads(EXAMPLES.read_text(encoding="utf-8")):
        if group["name"] == name:
            for ex in group["examples"]:
                if action is None or ex.get("action") == action:
                    return dict(ex)
    raise AssertionError(f"no {name}/{action} example")


@dataclass
class World:
    root: Path
    origin: EdgitRepo  # its work tree is the developer's clone
    kv: CFKVServer
    gh: GitHubServer
    commits: dict[str, str] = field(default_factory=dict)
    jobs: int = 0
    next_pr: int = 1

    @property
    def dev(self) -> Path:
        return self.origin.work

    def main(self) -> str:
        return git(self.origin.remote, "rev-parse", "main")

    def open_pr(self, files: dict[str, str]) -> tuple[int, str, str]:
        """A branch off main with ``files`` committed, pushed; (number, base sha, head sha)."""
        number = self.next_pr
        self.next_pr += 1
        git(self.dev, "checkout", "-q", "main")
        git(self.dev, "reset", "-q", "--hard", "origin/main")
        base = git(self.dev, "rev-parse", "HEAD")
        git(self.dev, "checkout", "-q", "-b", f"pr-{number}")
        for path, text in files.items():
            self.origin.write(path, text)
        head = self.origin.commit(f"pr {number}")
        git(self.dev, "push", "-q", "origin", f"pr-{number}")
        self.gh.state.heads[number] = head
        return number, base, head

    def push_pr(self, number: int, files: dict[str, str]) -> str:
        """Another commit on the pull request's branch; its new head sha."""
        git(self.dev, "checkout", "-q", f"pr-{number}")
        for path, text in files.items():
            self.origin.write(path, text)
        head = self.origin.commit(f"pr {number} again")
        git(self.dev, "push", "-q", "origin", f"pr-{number}")
        self.gh.state.heads[number] = head
        return head

    def merge(self, number: int) -> str:
        """Merge the pull request into main (a merge commit, as GitHub's merge button makes)."""
        git(self.dev, "checkout", "-q", "main")
        git(self.dev, "fetch", "-q", "origin")
        git(self.dev, "reset", "-q", "--hard", "origin/main")
        git(self.dev, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", f"pr-{number}")
        sha = git(self.dev, "rev-parse", "HEAD")
        git(self.dev, "push", "-q", "origin", "main")
        self.gh.state.pulls[number] = {"merge_commit_sha": sha}
        return sha

    def new_job(self) -> Path:
        """The workspace of a new job (not there yet: its checkout step makes it)."""
        self.jobs += 1
        job = self.root / f"job-{self.jobs}"
        job.mkdir()
        return job / "work"

    def clone_at(self, sha: str) -> Callable[[Path], None]:
        """actions/checkout with fetch-depth 0 at ``sha``: a fresh clone of the remote."""

        def clone(work: Path) -> None:
            git(work.parent, "clone", "-q", str(self.origin.remote), str(work))
            git(work, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
            git(work, "checkout", "-q", "--detach", sha)

        return clone

    def checkout(self, sha: str) -> Path:
        """A fresh runner checkout at ``sha`` (outside a workflow: e.g. a developer's clone)."""
        work = self.new_job()
        self.clone_at(sha)(work)
        return work

    def env(self, work: Path, event_name: str, event: dict[str, Any], sha: str, ref: str) -> dict[str, str]:
        event_file = work.parent / "event.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        runner_temp = self.runner_temp()
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root),
            **GIT_ENV,
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_file),
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_REPOSITORY": f"{self.gh.state.owner}/{self.gh.state.repo}",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_RUN_ID": str(4200 + self.jobs),
            "GITHUB_ACTOR": "octocat",
            "GITHUB_WORKSPACE": str(work),
            "RUNNER_TEMP": str(runner_temp),
            "CLOUDFLARE_API_BASE_URL": self.kv.url,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }

    def runner_temp(self) -> Path:
        return runner_temp()

    def pr_event(self, number: int, base: str, head: str, *, fork: bool = False) -> dict[str, Any]:
        ev = webhook("pull_request", "opened")
        owner, repo = self.gh.state.owner, self.gh.state.repo
        pr = json.loads(json.dumps(ev["pull_request"]))
        pr["number"] = number
        pr["base"]["sha"], pr["base"]["ref"] = base, "main"
        pr["head"]["sha"], pr["head"]["ref"] = head, f"pr-{number}"
        pr["base"]["repo"]["full_name"] = f"{owner}/{repo}"
        pr["head"]["repo"]["full_name"] = f"someone/{repo}" if fork else f"{owner}/{repo}"
        ev.update(number=number, pull_request=pr)
        ev["repository"] = {**ev["repository"], "full_name": f"{owner}/{repo}", "name": repo}
        return ev

    def run_pr(
        self, number: int, base: str, head: str, *, fork: bool = False, token: str = WORKFLOW_TOKEN
    ) -> JobResult:
        """The job ``plan`` of examples/github/release-plan-pr.yml, as written (a fork gets no secrets)."""
        work = self.new_job()
        env = self.env(
            work, "pull_request", self.pr_event(number, base, head, fork=fork), head, f"refs/pull/{number}/merge"
        )
        env["GITHUB_TOKEN_FOR_JOB"] = token
        secrets = {} if fork else {"CLOUDFLARE_KV_READ_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}
        return self._run_example("release-plan-pr.yml", "plan", work, env, head, secrets)

    def run_apply(
        self, sha: str | None = None, extra_env: dict[str, str] | None = None, inputs: dict[str, str] | None = None
    ) -> JobResult:
        """The job ``apply`` of examples/github/release-apply.yml, as written; with ``inputs``, the
        action alone with those inputs (those the example does not set, e.g. ``since``)."""
        sha = sha or self.main()
        work = self.new_job()
        ev = webhook("push", None)
        ev.update(ref="refs/heads/main", after=sha)
        env = self.env(work, "push", ev, sha, "refs/heads/main")
        env["GITHUB_TOKEN_FOR_JOB"] = WORKFLOW_TOKEN
        env.update(extra_env or {})
        if inputs:
            self.clone_at(sha)(work)
            given = {"command": "apply", "kv-api-token": TOKEN, "kv-account-id": ACCOUNT, **inputs}
            return run_action(work, given, env, action=action_checkout(self.runner_temp()))
        secrets = {"CLOUDFLARE_KV_WRITE_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}
        return self._run_example("release-apply.yml", "apply", work, env, sha, secrets)

    def _run_example(
        self, name: str, job: str, work: Path, env: dict[str, str], sha: str, secrets: dict[str, str]
    ) -> JobResult:
        action = action_checkout(self.runner_temp())
        return run_workflow_job(
            ROOT / "examples/github" / name,
            job,
            work,
            env,
            checkout=self.clone_at(sha),
            actions={"OWNER/release-planner@v1": action},
            secrets=secrets,
        )

    # ---- what the tests assert on -----------------------------------------------------------

    def refs(self) -> dict[str, str]:
        out = git(self.origin.remote, "for-each-ref", "--format=%(objectname) %(refname)")
        return {r: o for o, r in (ln.split(" ", 1) for ln in out.splitlines() if ln)}

    def peeled(self, ref: str) -> str:
        return git(self.origin.remote, "rev-parse", f"{ref}^{{commit}}")

    def ledger(self) -> list[dict[str, Any]]:
        """Ledger records, oldest first, read straight from the bare remote."""
        tip = self.refs().get("refs/planner/ledger")
        if tip is None:
            return []
        commits = git(self.origin.remote, "rev-list", "--first-parent", "--reverse", tip).split()
        return [json.loads(git(self.origin.remote, "cat-file", "blob", f"{c}:apply.json")) for c in commits]

    def kv_value(self, env: str, key: str) -> bytes | None:
        entry = self.kv.state.data.get(f"ns-{env}", {}).get(key)
        return None if entry is None else entry[0]


def build_world(root: Path, kv: CFKVServer, gh: GitHubServer) -> World:
    root.mkdir(parents=True, exist_ok=True)
    repo = EdgitRepo.create(root)
    w = World(root, repo, kv, gh)
    c = w.commits
    c["ext1"] = repo.register("extraction", "prompt", "prompts/extraction.md", "Extract v1\n")
    c["ana1"] = repo.register("analyzer", "agent-definition", "agents/analyzer.yaml", "model: a\n")
    c["rtr1"] = repo.register("router", "script", "logic/router.ts", "export const v = 1;\n")
    repo.write("prompts/extraction.md", "Extract v1.1\n")
    c["ext11"] = repo.commit("extraction 1.1")
    repo.write("logic/router.ts", "export const v = 2;\n")
    c["rtr2"] = repo.commit("router 2")
    repo.write("prompts/extraction.md", "Extract v1.2\n")
    c["ext12"] = repo.commit("extraction 1.2 (not released yet)")
    repo.write("planner.toml", PLANNER_TOML)
    repo.write("wrangler.toml", WRANGLER)
    repo.write(".gitignore", ".planner/\n")
    repo.write("app.yaml", "prompt: prompts/extraction@staging\n")
    c["config"] = repo.commit("planner.toml, wrangler.toml")
    repo.tag_version(EXT, "v1.0.0", c["ext1"])
    repo.tag_version(EXT, "v1.1.0", c["ext11"])
    repo.set_env(EXT, "staging", "v1.0.0")
    repo.set_env(EXT, "production", "v1.0.0")
    repo.tag_version(ANA, "v1.0.0", c["ana1"])
    repo.set_env(ANA, "staging", "v1.0.0")
    repo.tag_version(RTR, "v1.0.0", c["rtr1"])
    repo.tag_version(RTR, "v2.0.0", c["rtr2"])
    repo.set_env(RTR, "staging", "v1.0.0")
    repo.push()
    git(repo.work, "branch", "-q", "--set-upstream-to=origin/main", "main")
    kv.state.data["ns-staging"] = {
        "prompts/extraction@staging": (b"Extract v1\n", None),
        "agents/analyzer@staging": (b"model: a\n", None),
    }
    kv.state.data["ns-production"] = {"prompts/extraction@production": (b"Extract v1\n", None)}
    return w
