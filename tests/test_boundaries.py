"""The parts meet only through their public names, and imports flow one way (read from every file's imports).

A private module (a name starting with ``_``) belongs to its part: the MCP SDK's own modules import each
other's public surface, and so do ours. Tests under ``tests/<part>/`` may reach into their own part; bench/
and examples/ are users and see only public names. The shared layer is imported as ``tdscaling.common`` and
imports no part; the sandbox imports none of the other parts; ``servers`` imports neither ``client`` nor
``synth``, and ``client`` not ``synth`` (only each part's ``cli`` modules may compose the others').
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("servers", "client", "synth", "sandbox", "common")
# What each part may import (besides itself and tdscaling.common): imports flow synth -> client -> servers.
MAY_IMPORT = {"servers": set(), "client": {"servers", "sandbox"}, "synth": {"client", "servers", "sandbox"},
              "sandbox": set(), "common": set()}


def _owner(path: Path) -> str | None:
    """The part a file belongs to (``None``: a user of the public API, such as bench/ and examples/)."""
    rel = path.relative_to(ROOT).parts
    if rel[0] == "tests":
        return rel[1] if len(rel) > 2 and rel[1] in PARTS else None
    if rel[:2] == ("sandbox", "_common"):
        return "common"
    return rel[0] if rel[0] in PARTS else None


def _files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).parts
        if rel[0].startswith(".") or rel[0] in {"build", "dist"} or any(p.endswith(".egg-info") for p in rel):
            continue
        yield path


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` of every absolute import, each imported name counted as ``module.name``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _problem(owner: str | None, is_package: bool, name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "tdscaling" or len(parts) < 2:
        return None
    target = parts[1]
    if parts[:3] == ["tdscaling", "sandbox", "_common"]:
        return "imports the shared layer as tdscaling.sandbox._common (use tdscaling.common)"
    private = next((p for p in parts[2:] if p.startswith("_")), None)
    if private is not None and target != owner:
        return f"imports {name}: {private} is private to tdscaling.{target}"
    if is_package and owner is not None and target != owner and target not in MAY_IMPORT[owner] | {"common"}:
        return f"imports tdscaling.{target}: {owner} may import only {sorted(MAY_IMPORT[owner]) or 'no part'}"
    return None


def offenders() -> list[str]:
    """One line per offending import statement: ``path:line what is wrong``."""
    found: dict[tuple[Path, int], str] = {}
    for path in _files():
        owner = _owner(path)
        rel = path.relative_to(ROOT)
        # a part's cli module composes the CLI; tests are users of every part they test
        is_package = rel.parts[0] != "tests" and owner is not None and path.name != "cli.py"
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if (problem := _problem(owner, is_package, name)) is not None:
                found.setdefault((rel, line), f"{rel}:{line} {problem}")
    return [found[k] for k in sorted(found)]


def test_no_file_imports_a_private_module_of_another_part_and_imports_flow_one_way() -> None:
    found = offenders()
    assert found == [], "\n".join(found)


def test_the_check_sees_a_private_import_it_must_refuse() -> None:
    assert _problem("synth", True, "tdscaling.client._hub.Hub") == \
        "imports tdscaling.client._hub.Hub: _hub is private to tdscaling.client"
    assert _problem(None, False, "tdscaling.servers._build") is not None  # bench/ and examples/
    assert _problem("client", False, "tdscaling.client._hub") is None  # tests/client reach into client
    assert _problem("sandbox", True, "tdscaling.servers") is not None  # the sandbox stands alone
    assert _problem("common", True, "tdscaling.client") is not None  # the shared layer imports no part
    assert _problem("servers", True, "tdscaling.synth") is not None  # imports flow synth -> client -> servers
    assert _problem("synth", True, "tdscaling.sandbox._common._http") is not None
    assert len(list(_files())) > 150  # it read the whole tree
