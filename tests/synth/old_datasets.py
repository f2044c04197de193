"""Load an export folder with a given datasets release: this environment's, or an old one kept in a separate
environment that ``.ci/system-deps`` builds under ``~/.cache/tdscaling/datasets-<version>`` (or under
``$TDSCALING_OLD_DATASETS``). CI sets ``TDSCALING_CI=1``: there a missing environment fails the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

OLD_RELEASES = ("3.6.0", "4.0.0")  # the oldest the issue names, and the newest LLaMA-Factory 0.9.5 allows
LOADER = Path(__file__).with_name("load_folder.py")


def python_with(version: str) -> Path:
    root = Path(os.environ.get("TDSCALING_OLD_DATASETS") or Path.home() / ".cache" / "tdscaling")
    python = root / f"datasets-{version}" / "bin" / "python"
    if not python.exists():
        message = f"no environment with datasets {version} at {python.parents[1]}: run `bash .ci/system-deps`"
        if os.environ.get("TDSCALING_CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def load(folder: Path, *, python: Path | str = sys.executable, parquet: bool = False) -> dict[str, Any]:
    """What ``load_folder.py`` reports for ``folder`` under ``python``."""
    r = subprocess.run([str(python), str(LOADER), str(folder), *(["parquet"] if parquet else [])],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))
