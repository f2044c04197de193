from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tdscaling.servers import Catalog, DomainSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "servers" / "domains" / "online_store.json"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def domains(catalog: Catalog) -> dict[str, DomainSpec]:
    return {d.name: d for d in catalog}


@pytest.fixture
def example_domain() -> dict[str, Any]:
    """The online_store domain as plain JSON data, to break in tests."""
    return json.loads(EXAMPLE.read_text())


CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli() -> CliRunner:
    """Run the real ``tdscaling`` command in a subprocess, as a user does."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True,
                              cwd=cwd, timeout=300)

    return run
