"""Lint and types are part of the test suite, so the README's one test command checks them too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("servers", "client", "synth", "sandbox")
# tdscaling.common is installed from sandbox/_common (the top level is fixed; the sandbox must stand alone).
SHARED = ("common", ROOT / "sandbox" / "_common")


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed; pip install -e '.[dev]'"
    return found


def test_ruff_finds_nothing() -> None:
    r = subprocess.run([_tool("ruff"), "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_finds_nothing(tmp_path: Path) -> None:
    # The folders install as tdscaling.<name>; mypy resolves module names from paths, so give it that tree.
    pkg = tmp_path / "tdscaling"
    pkg.mkdir()
    for name in PACKAGES:
        (pkg / name).symlink_to(ROOT / name)
    (pkg / SHARED[0]).symlink_to(SHARED[1])
    names = [*PACKAGES, SHARED[0]]
    # The shared layer is checked once, as tdscaling.common, not again as a folder inside the sandbox.
    r = subprocess.run(
        [_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / ".mypy"),
         "--exclude", "tdscaling/sandbox/_common/", *[a for name in names for a in ("-p", f"tdscaling.{name}")]],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_packages_import_from_any_directory(tmp_path: Path) -> None:
    code = ("import tdscaling.servers, tdscaling.client, tdscaling.synth, tdscaling.sandbox, tdscaling.common, "
            "tdscaling.synth.cli")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_cli_starts_without_importing_heavy_libraries(tmp_path: Path) -> None:
    code = ("import sys; from tdscaling.synth.cli import app; "
            "heavy = [m for m in ('litellm', 'mcp', 'docker', 'faker', 'uvicorn') if m in sys.modules]; "
            "print(','.join(heavy))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"imported at CLI start: {r.stdout.strip()}"
