"""A package's public names, each written once, imported on first use (PEP 562).

A package's ``__init__.py`` lists its exports as ordinary imports inside ``if TYPE_CHECKING:``, one
``from .module import Name`` per module, and ends with::

    __all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)

Type checkers and editors read the block as plain imports; at run time nothing is imported until a name is
first used (``import tdscaling.client`` stays cheap, so ``tdscaling --help`` does not load the MCP SDK or
litellm), and ``lazy_exports`` builds ``__all__`` and the two hooks from that same block. So the block is the
one table: adding a public name is one import line.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def export_table(source: str, package: str) -> dict[str, tuple[str, str]]:
    """``{public name: (module, name in that module)}`` from the ``if TYPE_CHECKING:`` imports of ``source``."""
    table: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if not isinstance(statement, ast.ImportFrom):
                raise TypeError(f"{package}: the export table holds only 'from .module import Name' lines")
            module = "." * statement.level + (statement.module or "")
            absolute = importlib.util.resolve_name(module, package) if statement.level else module
            for alias in statement.names:
                table[alias.asname or alias.name] = (absolute, alias.name)
    return table


def lazy_exports(package: str, init_file: str) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose ``__init__.py`` is ``init_file``."""
    table = export_table(Path(init_file).read_text(encoding="utf-8"), package)

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[0]), where[1])
        setattr(sys.modules[package], name, value)  # the next use is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(table)

    return sorted(table), __getattr__, __dir__
