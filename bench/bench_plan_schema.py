"""Benchmark (issue 16.5): validating plan.json with planner.artifact_schema vs pydantic v2 / msgspec.

Builds plan.json for N components promoted at once (the dry run of bench/bench_plan.py, dumped by
planner.artifact), then times, each in a fresh interpreter (median of --runs):

- ``current``: import planner.artifact_schema + json.loads + check_plan (structure AND cross-field
  checks), which is what ``planner apply --plan`` adds before it applies;
- ``pydantic`` / ``msgspec``: import the candidate (bench/plan_schema_*.py) + validate the
  STRUCTURE only: a lower bound, the cross-field checks would still run on top.

It also prints, for a few broken fields, the message each gives (positioned errors need the path).

    .venv/bin/python bench/bench_plan_schema.py --sizes 10,200,2000 --runs 9
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_plan import Target, build  # noqa: E402

from planner.artifact import dump  # noqa: E402
from planner.gitio import Remote, Repo  # noqa: E402
from planner.kv.sqlite import SqliteKV  # noqa: E402
from planner.model import ComponentRef, Version  # noqa: E402
from planner.plan.diff import compute_plan  # noqa: E402
from planner.registry import load_registry  # noqa: E402
from planner.state import build_state  # noqa: E402
from planner.steps import MoveEnv, OrderedPlan  # noqa: E402

PROGRAMS = {
    "current": ("import json\nfrom planner.artifact_schema import check_plan\ncheck_plan(json.loads(text))"),
    "pydantic": "import json\nfrom plan_schema_pydantic import check\nassert check(json.loads(text)) is None",
    "msgspec": "from plan_schema_msgspec import check\nassert check(text) is None",
    "baseline": "import json\nimport planner.model\njson.loads(text)",  # what every variant shares
}
BROKEN: list[tuple[str, Any]] = [
    ("tags.0.ref", 5),
    ("tags.0.old_object", 7),
    ("tags.0.action", "explode"),
    ("kv.0.namespace", None),
    ("kv.0.size", "41"),
    ("tags.0.level", True),
    ("tags.0.surprise", 1),
    ("steps.0.component", "Bad Name"),
]


def plan_json(root: Path, n: int) -> str:
    work, c1, c2, names = build(root, n)
    refs: dict[str, tuple[str, str]] = {}
    for x in names:
        base = f"refs/tags/components/prompts/{x}"
        refs[f"{base}/v1.0.0"] = (c1, c1)
        refs[f"{base}/v1.1.0"] = (c2, c2)
        refs[f"{base}/staging"] = (c1, c1)
    state = build_state(Remote(str(root / "remote.git")), refs)
    steps = tuple(
        MoveEnv(ComponentRef("prompts", x), "components", "staging", Version.parse("v1.1.0"), c2, "promote")
        for x in names
    )
    ordered = OrderedPlan("bench", "", "bench.plan", "00" * 32, steps, (tuple(s.id for s in steps),))
    targets = {"staging": Target("staging", SqliteKV(root / "kv.sqlite", "staging"), ("{type}/{name}@{slot}",))}
    plan = compute_plan(ordered, repo=Repo(work), registry=load_registry(work), state=state, targets=targets)
    return dump(plan)


def timed(program: str, path: Path) -> float:
    code = (
        "import sys, time\nt0 = time.perf_counter()\n"
        f"text = open({str(path)!r}).read()\n{program}\nprint(time.perf_counter() - t0)"
    )
    env_path = f"{HERE.parent}:{HERE}"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": env_path}
    )
    return float(out.stdout)


def broken(text: str) -> None:
    import plan_schema_msgspec
    import plan_schema_pydantic

    from planner.artifact import load
    from planner.errors import DiagnosticError

    data = json.loads(text)
    print("\n| broken field | current (planner.artifact.load) | pydantic (path: message) | msgspec (path: message) |")
    print("|---|---|---|---|")
    for dotted, value in BROKEN:
        d = copy.deepcopy(data)
        *head, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
        node = d
        for p in head:
            node = node[p]
        node[last] = value
        bad = json.dumps(d, indent=2)
        try:
            load(bad, check_id=False)
            cur = "accepted"
        except DiagnosticError as exc:
            cur = exc.render().splitlines()[0]
        got = []
        for res in (plan_schema_pydantic.check(json.loads(bad)), plan_schema_msgspec.check(bad)):
            got.append("accepted" if res is None else f"{'.'.join(map(str, res[0]))}: {res[1]}")
        print(f"| `{dotted}` = `{json.dumps(value)}` | {cur} | {got[0]} | {got[1]} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,200,2000")
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    print("| components | plan.json bytes | " + " | ".join(f"{k} (ms)" for k in PROGRAMS) + " |")
    print("|---|---|" + "---|" * len(PROGRAMS))
    sample = ""
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-schema-") as tmp:
            text = plan_json(Path(tmp), n)
            path = Path(tmp) / "plan.json"
            path.write_text(text)
            sample = sample or text
            med = {}
            for name, program in PROGRAMS.items():
                med[name] = statistics.median(timed(program, path) for _ in range(args.runs)) * 1000
            print(f"| {n} | {len(text)} | " + " | ".join(f"{med[k]:.1f}" for k in PROGRAMS) + " |")
    broken(sample)


if __name__ == "__main__":
    main()
