"""A floor for ``planner status --format json``: the same document from a bare stdlib-only script.

Not the planner: no registry, no config, no validation of hostile names beyond one regex, no
divergence report, no error handling. It starts ``git ls-remote`` first, groups the tags, sorts
versions by semver, and writes the same JSON shape for an unregistered repository. It exists to
show how close the real command is to what CPython can do for this output at all; see
bench/README.md. Run by ``bench/bench_status.py``:

    .venv/bin/python bench/status_floor.py REMOTE > out.json
"""

import gc
import subprocess
import sys

gc.disable()
ls = subprocess.Popen(
    ["git", "ls-remote", sys.argv[1], "refs/tags/components/*", "refs/tags/logic/*", "refs/planner/*"],
    stdout=subprocess.PIPE,
)
import json  # noqa: E402  (after git has started, as the planner does)
import os  # noqa: E402
import re  # noqa: E402

TAG = re.compile(
    r"^([0-9a-f]+)\trefs/tags/(components|logic)/([a-z-]+)/([a-z0-9][a-z0-9_-]*)/([^/\n]+)\n"
    r"(?:([0-9a-f]+)\t[^\n]*\^\{\}\n)?",
    re.M,
)
VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")


def semver_key(text: str) -> tuple[object, ...]:
    m = VERSION.fullmatch(text)
    assert m, text
    pre = m.group(4)
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split(".")) if pre else ()
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, ids)


out, _ = ls.communicate()
comps: dict[tuple[str, str], tuple[str, list[tuple[str, str, str]], dict[str, tuple[str, str]]]] = {}
for oid, prefix, ns, name, slot, peeled in TAG.findall(out.decode()):
    c = comps.get((ns, name))
    if c is None:
        c = comps[(ns, name)] = (prefix, [], {})
    if slot[0] == "v":
        c[1].append((slot, oid, peeled or oid))
    else:
        c[2][slot] = (oid, peeled or oid)
keys: dict[str, tuple[object, ...]] = {}
env_names = sorted({e for _, _, envs in comps.values() for e in envs})
docs = []
for (ns, name), (prefix, versions, envs) in sorted(comps.items()):
    for v, _, _ in versions:
        if v not in keys:
            keys[v] = semver_key(v)
    versions.sort(key=lambda row: keys[row[0]])
    at = {commit: v for v, _, commit in versions}
    env_docs: dict[str, object] = {}
    for e in env_names:
        p = envs.get(e)
        env_docs[e] = (
            None
            if p is None
            else {
                "version": at.get(p[1]),
                "commit": p[1],
                "tag_object": p[0],
                "ref": f"refs/tags/{prefix}/{ns}/{name}/{e}",
            }
        )
    texts = [v for v, _, _ in versions]
    docs.append(
        {
            "component": f"{ns}/{name}",
            "type": ns,  # the real command maps the namespace to the type name
            "name": name,
            "prefix": prefix,
            "needs_rebuild": prefix == "logic",
            "registered": False,
            "path": None,
            "uses": [],
            "latest": texts[-1] if texts else None,
            "versions": texts,
            "envs": env_docs,
        }
    )
doc = {"schema": "planner.status/1", "remote": sys.argv[1], "environments": env_names, "components": docs}
sys.stdout.write(json.dumps(doc, separators=(",", ":"), check_circular=False) + "\n")
sys.stdout.flush()
os._exit(0)
