"""A repository with many components, built fast (fast-import + packed-refs), for scale tests and bench."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepo import EdgitRepo, git


def many_components(root: Path, n: int) -> EdgitRepo:
    """n components, each with v1.0.0 and staging at one commit (fast-import + lightweight tags: fast)."""
    r = EdgitRepo.create(root)
    # 100 files per directory, as a real repository would shard them (git's path lookup is
    # linear in the size of a tree, so 10,000 files in one directory would time git, not us).
    comps = {f"p{i:05d}": {"path": f"prompts/{i // 100:03d}/p{i:05d}.md", "type": "prompt"} for i in range(n)}
    registry = json.dumps({"version": "3.0.0", "components": comps, "updated": "x"}).encode()
    parent = git(r.work, "rev-parse", "HEAD")
    stream = [
        b"commit refs/heads/main\ncommitter T <t@example.com> 0 +0000\ndata 4\nmany\n",
        f"from {parent}\n".encode(),
    ]
    for path, data in [(".edgit/components.json", registry)] + [
        (c["path"], f"content of {name}\n".encode()) for name, c in comps.items()
    ]:
        stream.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    git(r.work, "fast-import", "--quiet", input=b"".join(stream))
    commit = git(r.work, "rev-parse", "main")  # the work tree is not checked out: sync reads git objects
    git(r.work, "push", "-q", "origin", "main")
    # 20,000 loose refs would take seconds to write; a packed-refs file is what git itself keeps.
    refs = sorted(f"refs/tags/components/prompts/{name}/{slot}" for name in comps for slot in ("v1.0.0", "staging"))
    packed = r.remote / "packed-refs"
    old = packed.read_text() if packed.exists() else ""
    assert "refs/tags/" not in old
    lines = [ln for ln in old.splitlines() if ln and not ln.startswith("#")]
    body = sorted(lines + [f"{commit} {ref}" for ref in refs], key=lambda ln: ln.split(" ", 1)[1])
    packed.write_text("# pack-refs with: peeled fully-peeled sorted \n" + "\n".join(body) + "\n")
    return r
