"""The GitHub Actions runner's file protocol: the event payload, step outputs, the job summary and
workflow-command annotations (docs: "Workflow commands for GitHub Actions")."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import Diagnostic, PlannerError


class RunnerError(PlannerError):
    """The runner's environment is missing something the command needs."""


def _escape(msg: str) -> str:
    return msg.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


@dataclass
class Runner:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def get(self, name: str) -> str | None:
        return self.environ.get(name) or None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise RunnerError(f"${name} is not set: run this inside a GitHub Actions job (see docs/ci.md)")
        return value

    def event(self) -> dict[str, Any]:
        path = self.require("GITHUB_EVENT_PATH")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunnerError(f"cannot read the event payload {path}: {exc}") from None
        if not isinstance(data, dict):
            raise RunnerError(f"the event payload {path} is not a JSON object")
        return data

    def output(self, name: str, value: str) -> None:
        """``name<<DELIM`` / value / ``DELIM``: safe for any value (a random delimiter it cannot hold)."""
        path = self.get("GITHUB_OUTPUT")
        if path is None:
            return
        delim = f"ghadelim_{uuid.uuid4().hex}"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{name}<<{delim}\n{value}\n{delim}\n")

    def summary(self, markdown: str) -> None:
        path = self.get("GITHUB_STEP_SUMMARY")
        if path is None:
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip("\n") + "\n\n")

    def annotate(self, diag: Diagnostic) -> None:
        print(diag.github(), flush=True)

    def message(self, kind: str, msg: str) -> None:
        """``::error::`` / ``::warning::`` / ``::notice::`` without a position."""
        print(f"::{kind}::{_escape(msg)}", flush=True)

    def run_url(self) -> str | None:
        server, repo, run = self.get("GITHUB_SERVER_URL"), self.get("GITHUB_REPOSITORY"), self.get("GITHUB_RUN_ID")
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}" if server and repo and run else None

    def repository(self) -> tuple[str, str]:
        full = self.require("GITHUB_REPOSITORY")
        owner, _, name = full.partition("/")
        if not owner or not name or "/" in name:
            raise RunnerError(f"$GITHUB_REPOSITORY {full!r} is not OWNER/NAME")
        return owner, name
