"""The demo's walkthrough: status, a reviewed plan, apply it, then status, history and KV; last,
the KV drift edgit's own pushes left, shown and repaired with ``sync``, so the demo ends clean.

Runs every command in-process against the demo repository (``planner.demo``): its bare remote
and the embedded SQLite KV store (``.planner/kv.sqlite``, the default when nothing is configured).
The plan's ``verify`` gate checks a tiny HTTP server the demo starts on 127.0.0.1 (and stops at
the end), so the demo shows a real verify without needing the network.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from planner.demo import DemoRepo

DEMO_PLAN = """\
# An example release for the demo repository (see `planner demo`).
plan "demo-release" {{
  description "Ship the tuned analyzer and the new extraction prompt"

  create  agents/analyzer v1.1.0 at main             # new immutable version tag
  promote agents/analyzer v1.1.0 to staging
  promote prompts/extraction from staging to production
  promote schemas/invoice v1.0.0 to staging          # already there: a no-op
  promote scripts/router v1.0.0-rc.1 to production   # logic: needs a Worker rebuild
  # The demo serves this health check on 127.0.0.1; a real plan names the staging Worker.
  verify  staging get "{health_url}" expect 200
}}
"""


def demo_plan_text(health_url: str) -> str:
    return DEMO_PLAN.format(health_url=health_url)


def write_demo_plan(work: Path, health_url: str) -> Path:
    file = work / "plans" / "demo.plan"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(demo_plan_text(health_url), encoding="utf-8")
    return file


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the walkthrough prints what matters


@contextmanager
def health_server() -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT/health`` (200) for the plan's verify; stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _say(text: str) -> None:
    sys.stdout.flush()  # keep the transcript in order when stdout and stderr share a terminal
    print(text, file=sys.stderr, flush=True)


Runner = Callable[[Sequence[str]], int]  # planner.cli.app.run: argv -> exit code


def walkthrough(d: DemoRepo, run: Runner) -> int:
    """The whole demo; 0 when every step did what it should, else the failing step's exit code.

    ``run`` runs one command (the CLI passes its own: this module does not import the CLI)."""
    from planner.artifact import load
    from planner.errors import EXIT_CHANGES

    def _step(work: Path, shown: str, argv: Sequence[str]) -> int:
        """Print ``$ planner <shown>`` and run ``argv`` against the demo checkout; its exit code."""
        _say(f"$ planner {shown}")
        code = run([*argv, "--repo", str(work)])
        sys.stdout.flush()
        return code

    work = d.work
    _say(f"demo repository: {work} (remote: {d.remote})\n$ cd {work}")
    _say("\n# 1. Where each environment points now (read from the remote: one git ls-remote).")
    if code := _step(work, "status", ["status"]):
        return code
    with health_server() as health_url:
        file = write_demo_plan(work, health_url)
        _say("\n# 2. A release plan, written for review in a pull request:")
        _say(f"$ cat plans/{file.name}\n{file.read_text(encoding='utf-8').rstrip()}")
        _say("\n# 3. The dry run reviewers see; the plan is saved as an artifact (exit 2: changes present).")
        saved = work / "plan.json"
        code = _step(
            work,
            f"plan plans/{file.name} -o plan.json --detailed-exitcode",
            ["plan", str(file), "-o", str(saved), "--detailed-exitcode"],
        )
        if code != EXIT_CHANGES:
            return code or 1
        plan_id = load(saved.read_text(encoding="utf-8"), str(saved)).plan_id[:12]  # the id as shown everywhere
        _say(
            "\n# 4. Apply exactly the reviewed plan: KV version keys, ONE atomic push of every tag and the\n"
            "#    ledger, then the environment keys, then the verify gate. All of it lands, or none of it."
        )
        code = _step(
            work,
            f"apply --plan plan.json --require-id {plan_id}",
            ["apply", "--plan", str(saved), "--require-id", plan_id],
        )
        if code:
            return code
    _say("\n# 5. After: the remote moved (and the checkout's tags with it: nothing is stale).")
    if code := _step(work, "status", ["status"]):
        return code
    _say("\n# 6. Every apply is recorded in the release ledger (refs/planner/ledger on the remote).")
    if code := _step(work, "history", ["history"]):
        return code
    _say("\n# 7. What the runtime now reads from KV (the embedded SQLite store, .planner/kv.sqlite).")
    target = "prompts/extraction@production"
    if code := _step(work, f"kv get {target} --env production", ["kv", "get", target, "--env", "production"]):
        return code
    _say(
        "\n# 8. Drift, on purpose: edgit tagged the other environments, and nothing wrote their KV keys\n"
        "#    (GitHub runs no workflow for a push of more than three tags). kv diff lists what the runtime\n"
        "#    would miss (exit 2); sync writes it from the tags."
    )
    if (code := _step(work, "kv diff", ["kv", "diff"])) != EXIT_CHANGES:
        return code or 1
    if code := _step(work, "sync", ["sync"]):
        return code
    _say("\n# 9. Clean: every YAML reference resolves, and KV matches the tags (both exit 0).")
    if code := _step(work, "validate", ["validate"]):
        return code
    return _step(work, "kv diff", ["kv", "diff"])
