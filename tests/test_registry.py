"""Registry: edgit JSON + component.yaml manifests, YAML references, positioned errors, writing."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from planner.errors import DiagnosticError, Span
from planner.model import ComponentRef, ModelError
from planner.refs import parse_ref, scan_yaml
from planner.registry import (
    REGISTRY_PATH,
    add_component,
    dump_edgit,
    edgit_timestamp,
    load_registry,
    save_components,
)

EXTRACTION = ComponentRef("prompts", "extraction")
INVOICE = ComponentRef("schemas", "invoice")
ANALYZER = ComponentRef("agents", "analyzer")


def write(root: Path, path: str, text: str) -> None:
    p = root / path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def edgit_json(components: dict[str, dict[str, str]]) -> str:
    return dump_edgit({"version": "3.0.0", "components": components, "updated": "2026-01-01T00:00:00.000Z"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(
        tmp_path,
        REGISTRY_PATH,
        edgit_json(
            {
                "extraction": {"path": "prompts/extraction.md", "type": "prompt"},
                "invoice": {"path": "schemas/invoice.json", "type": "schema"},
                "router": {"path": "src/logic/router.ts", "type": "script"},
            }
        ),
    )
    write(tmp_path, "prompts/extraction.md", "x\n")
    write(tmp_path, "schemas/invoice.json", "{}\n")
    write(tmp_path, "src/logic/router.ts", "x\n")
    write(tmp_path, "agents/analyzer/component.yaml", "name: analyzer\ntype: agent-definition\npath: a.yaml\n")
    write(
        tmp_path,
        "agents/analyzer/a.yaml",
        "steps:\n  - prompt: prompts/extraction@staging\n  - schema: schemas/invoice@v1.0.0\nself: agents/analyzer@v1.0.0\n",
    )
    return tmp_path


def diag_error(root: Path) -> DiagnosticError:
    with pytest.raises(DiagnosticError) as info:
        load_registry(root)
    return info.value


def test_merged_registry_prefixes_and_dependencies(repo: Path) -> None:
    reg = load_registry(repo)
    assert sorted(map(str, reg.components)) == [
        "agents/analyzer",
        "prompts/extraction",
        "schemas/invoice",
        "scripts/router",
    ]
    assert reg.components[ComponentRef("scripts", "router")].needs_rebuild
    assert reg.components[ANALYZER].path == "agents/analyzer/a.yaml"
    assert reg.components[ANALYZER].source == "agents/analyzer/component.yaml"
    deps = reg.dependencies()
    assert deps[ANALYZER] == {EXTRACTION, INVOICE}  # from YAML refs; the self-reference is dropped
    assert deps[EXTRACTION] == frozenset()
    refs = reg.yaml_refs[ANALYZER]
    assert [(r.span.line, r.span.column, r.slot, r.key) for r in refs] == [
        (2, 13, "staging", "prompt"),
        (3, 13, "v1.0.0", "schema"),
        (4, 7, "v1.0.0", "self"),
    ]


def test_manifest_uses_and_prefix(repo: Path) -> None:
    write(
        repo,
        "agents/analyzer/component.yaml",
        "name: analyzer\ntype: agent-definition\npath: a.yaml\nprefix: logic\nuses:\n  - scripts/router\n",
    )
    reg = load_registry(repo)
    assert reg.components[ANALYZER].prefix == "logic"
    assert ComponentRef("scripts", "router") in reg.dependencies()[ANALYZER]


def test_manifest_refines_edgit_entry(repo: Path) -> None:
    write(repo, "prompts/component.yaml", "name: extraction\ntype: prompt\npath: extraction.md\nprefix: logic\n")
    reg = load_registry(repo)
    assert reg.components[EXTRACTION].prefix == "logic"


def test_scanner_forms() -> None:
    assert parse_ref("prompt://extraction@v1.0.0") == (EXTRACTION, "v1.0.0")
    assert parse_ref("agent://analyzer") == (ANALYZER, None)
    assert parse_ref("schemas/invoice@production") == (INVOICE, "production")
    assert parse_ref("docs/readme.md") is None
    assert parse_ref("https://example.com/x@y") is None
    text = "a:\n  b: [x, 'prompt://extraction@v1.0.0']\n---\nc: queries/sales@staging\n"
    found = scan_yaml("f.yaml", text)
    assert [(str(r.span), str(r.ref)) for r in found] == [
        ("f.yaml:2:10", "prompts/extraction"),
        ("f.yaml:4:4", "queries/sales"),
    ]


def test_malformed_yaml_position(repo: Path) -> None:
    write(repo, "agents/analyzer/a.yaml", "steps:\n  - prompt: [unclosed\n")
    err = diag_error(repo)
    d = err.diagnostics[0]
    assert d.message.startswith("malformed YAML")
    assert d.span is not None and d.span.file == "agents/analyzer/a.yaml" and d.span.line == 3


def test_malformed_json_position(repo: Path) -> None:
    write(repo, REGISTRY_PATH, '{\n  "version": "3.0.0",\n  "components": {,}\n}')
    d = diag_error(repo).diagnostics[0]
    assert d.message.startswith("malformed JSON")
    assert d.span == Span(REGISTRY_PATH, 3, 18)


def test_unknown_type_duplicate_missing_and_escaping(repo: Path) -> None:
    text = (
        '{\n  "version": "3.0.0",\n  "components": {\n'
        '    "extraction": {"path": "prompts/extraction.md", "type": "prompt"},\n'
        '    "widget": {"path": "w.md", "type": "widget"},\n'
        '    "gone": {"path": "nope.md", "type": "prompt"},\n'
        '    "evil": {"path": "../etc/passwd", "type": "config"},\n'
        '    "extraction": {"path": "prompts/extraction.md", "type": "prompt"}\n'
        "  }\n}"
    )
    write(repo, REGISTRY_PATH, text)
    err = diag_error(repo)
    got = {(d.span.line if d.span else 0, d.message.split(" (")[0]) for d in err.diagnostics}
    assert (8, "duplicate component name 'extraction'") in got
    assert (5, "unknown component type 'widget'") in got
    assert (7, "component 'evil': path '../etc/passwd' escapes the repository") in got
    assert (6, "component 'gone': file 'nope.md' does not exist") in got
    rendered = err.render()
    assert ".edgit/components.json:5:5: error: unknown component type 'widget'" in rendered


def test_duplicate_name_between_manifests(repo: Path) -> None:
    write(repo, "x/component.yaml", "name: analyzer\ntype: prompt\npath: x.md\n")
    write(repo, "x/x.md", "x\n")
    err = diag_error(repo)
    assert any("duplicate component name 'analyzer'" in d.message for d in err.diagnostics)


def test_manifest_errors_positioned(repo: Path) -> None:
    write(
        repo, "agents/analyzer/component.yaml", "name: -Analyzer\ntype: agent\npath: ../../../x\ncolour: red\nuses: 3\n"
    )
    err = diag_error(repo)
    by_line = {d.span.line: d.message for d in err.diagnostics if d.span}
    assert "invalid component name '-Analyzer'" in by_line[1]
    assert "unknown component type 'agent'" in by_line[2]
    assert "escapes the repository" in by_line[3]
    assert "unknown manifest key 'colour'" in by_line[4]
    assert "'uses' must be a list" in by_line[5]


def test_symlink_escaping_repo(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text("secret\n")
    os.symlink(outside, repo / "prompts/link.md")
    save_components(repo, {"link": {"path": "prompts/link.md", "type": "prompt"}})
    err = diag_error(repo)
    assert any("escapes the repository" in d.message for d in err.diagnostics)


def test_uses_unknown_component(repo: Path) -> None:
    write(
        repo,
        "agents/analyzer/component.yaml",
        "name: analyzer\ntype: agent-definition\npath: a.yaml\nuses: [tools/nope]\n",
    )
    err = diag_error(repo)
    assert any("uses tools/nope, which is not registered" in d.message for d in err.diagnostics)


def test_missing_registry_is_empty(tmp_path: Path) -> None:
    assert load_registry(tmp_path).components == {}


def test_write_is_byte_compatible_with_edgit(tmp_path: Path) -> None:
    # What edgit's JSON.stringify(registry, null, 2) produces (no trailing newline, ms timestamp).
    expected = (
        "{\n"
        '  "version": "3.0.0",\n'
        '  "components": {\n'
        '    "extraction": {\n'
        '      "path": "prompts/extraction.md",\n'
        '      "type": "prompt"\n'
        "    }\n"
        "  },\n"
        '  "updated": "2026-03-04T05:06:07.089Z"\n'
        "}"
    )
    now = datetime(2026, 3, 4, 5, 6, 7, 89000, tzinfo=UTC)
    save_components(tmp_path, {"extraction": {"path": "prompts/extraction.md", "type": "prompt"}}, now=now)
    assert (tmp_path / REGISTRY_PATH).read_text() == expected
    assert edgit_timestamp(now) == "2026-03-04T05:06:07.089Z"


def test_write_preserves_unknown_keys_and_order(tmp_path: Path) -> None:
    original = {"components": {"a": {"type": "prompt", "path": "a.md", "id": "x1"}}, "version": "3.0.0", "extra": [1]}
    write(tmp_path, REGISTRY_PATH, json.dumps(original, indent=2) + "\n")
    save_components(tmp_path, {"b": {"path": "b.md", "type": "schema"}}, now=datetime(2026, 1, 1, tzinfo=UTC))
    text = (tmp_path / REGISTRY_PATH).read_text()
    data = json.loads(text)
    assert list(data) == ["components", "version", "extra", "updated"]
    assert data["components"]["a"] == {"type": "prompt", "path": "a.md", "id": "x1"}
    assert text.endswith("}\n")  # the existing file's trailing newline is kept


def test_add_component_file_and_manifest(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    write(repo, "queries/sales.sql", "select 1;\n")
    c = add_component(repo, "queries/sales.sql", type_="query")
    assert (str(c.ref), c.path) == ("queries/sales", "queries/sales.sql")
    assert json.loads((repo / REGISTRY_PATH).read_text())["components"]["sales"] == {
        "path": "queries/sales.sql",
        "type": "query",
    }
    c2 = add_component(repo, "agents/analyzer/component.yaml")
    assert json.loads((repo / REGISTRY_PATH).read_text())["components"]["analyzer"]["path"] == "agents/analyzer/a.yaml"
    assert c2.ref == ANALYZER
    assert ComponentRef("queries", "sales") in load_registry(repo).components
    with pytest.raises(ModelError, match="give --type"):
        add_component(repo, "queries/sales.sql")
    with pytest.raises(ModelError, match="already registered"):
        add_component(repo, "prompts/extraction.md", type_="prompt", name="invoice")
    with pytest.raises(ModelError, match="outside the repository"):
        add_component(repo, "/etc/hostname", type_="config")


def test_write_never_leaks_duplicate_markers(tmp_path: Path) -> None:
    write(
        tmp_path,
        REGISTRY_PATH,
        '{"version": "3.0.0", "components": {"a": {"path": "a.md", "path": "b.md", "type": "prompt"}}}',
    )
    save_components(tmp_path, {"c": {"path": "c.md", "type": "prompt"}})
    text = (tmp_path / REGISTRY_PATH).read_text()
    assert "\\u0000" not in text and "dupes" not in text
    assert json.loads(text)["components"]["a"] == {"path": "b.md", "type": "prompt"}


def test_key_positions_in_one_pass_with_escapes_and_unicode(repo: Path) -> None:
    # Positions come from one scan of the text: keys written with escapes, non-ASCII keys and
    # several keys on one line are each found at their own line and column.
    text = (
        '{"version": "3.0.0", "components": {\n'
        '  "caf\\u00e9": {"path": "a.md", "type": "prompt"}, "ok": {"path": "prompts/extraction.md", "type": "prompt"},\n'
        '  "na\\"me": {"path": "b.md", "type": "prompt"},\n'
        '    "wid": {"path": "prompts/extraction.md", "type": "widget"}\n'
        "}}"
    )
    write(repo, REGISTRY_PATH, text)
    err = diag_error(repo)
    spans = {d.message.split(" (")[0].split(":")[0]: (d.span.line, d.span.column) for d in err.diagnostics if d.span}
    assert spans["invalid component name 'café'"] == (2, 3)
    assert spans["invalid component name 'na\"me'"] == (3, 3)
    assert spans["unknown component type 'widget'"] == (4, 5)


# --- byte compatibility with edgit's JSON.stringify for integer-like names ----------------------


def _edgit_write(existing: str, entries: list[tuple[str, dict[str, str]]], updated: str) -> str:
    """What edgit does in node: JSON.parse the file, set each component, JSON.stringify(r, null, 2)."""
    import shutil
    import subprocess

    node = shutil.which("node")
    assert node is not None, "node is needed for the reference output"
    script = (
        "const [file, pairs, updated] = JSON.parse(process.argv[1]); const r = JSON.parse(file);"
        "for (const [k, v] of pairs) r.components[k] = v; r.updated = updated;"
        "process.stdout.write(JSON.stringify(r, null, 2))"
    )
    arg = json.dumps([existing, entries, updated])
    return subprocess.run([node, "-e", script, arg], capture_output=True, check=True, timeout=60).stdout.decode()


def test_integer_like_names_are_written_as_json_stringify_orders_them(repo: Path) -> None:
    first = ["zeta", "42", "alpha"]
    then = ["7", "007", "4294967294", "4294967295", "0", "1.5"]
    for n in first + then:
        write(repo, f"prompts/{n}.md", "x\n")
    start = json.dumps({"version": "3.0.0", "components": {}, "updated": "x"}, indent=2)
    write(repo, ".edgit/components.json", start)
    t1, t2 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), datetime(2026, 2, 3, 4, 5, 6, 7000, tzinfo=UTC)

    def entries(names: list[str]) -> list[tuple[str, dict[str, str]]]:
        return [(n, {"path": f"prompts/{n}.md", "type": "prompt"}) for n in names]

    save_components(repo, dict(entries(first)), now=t1)
    after_one = (repo / ".edgit/components.json").read_text()
    assert after_one == _edgit_write(start, entries(first), "2026-01-02T03:04:05.678Z")
    save_components(repo, dict(entries(then)), now=t2)
    after_two = (repo / ".edgit/components.json").read_text()
    assert after_two == _edgit_write(after_one, entries(then), "2026-02-03T04:05:06.007Z")
    keys = list(json.loads(after_two)["components"])
    assert keys == ["0", "7", "42", "4294967294", "zeta", "alpha", "007", "4294967295", "1.5"]
