"""Load an exported dataset folder with whatever datasets release runs this script, and compare every row with
the JSON Lines it was read from. Usage: python load_folder.py FOLDER [parquet]. Prints one JSON object.

Run by the export tests in the test suite's environment and in separate environments holding old releases,
so it imports nothing from tdscaling.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import datasets


def _without_none(x: Any) -> Any:
    """What Arrow's padding adds, taken away again (as trl.trainer.utils.remove_none_values does)."""
    if isinstance(x, dict):
        return {k: _without_none(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_without_none(v) for v in x]
    return x


def _values(x: Any) -> Any:
    """Floats to 12 significant digits: datasets 5.2 decodes its Json type with pandas' ujson, which can give
    0.8200000000000001 for 0.82."""
    if isinstance(x, dict):
        return {k: _values(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_values(v) for v in x]
    return float(f"{x:.12g}") if isinstance(x, float) else x


def main(folder: Path, parquet: bool) -> dict[str, Any]:
    lines = (folder / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    written = [json.loads(line) for line in lines]
    if parquet:
        ds = datasets.load_dataset("parquet", data_files=str(folder / "data" / "train.parquet"), split="train")
    else:
        ds = datasets.load_dataset(str(folder), split="train")
    read = list(ds)
    pairs = list(zip(read, written, strict=True))
    return {
        "version": datasets.__version__,
        "rows": len(read),
        "written": len(written),
        "identical": sum(a == b for a, b in pairs),
        "same_values": sum(_values(a) == _values(b) for a, b in pairs),
        "same_values_without_none": sum(_values(_without_none(a)) == _values(_without_none(b)) for a, b in pairs),
        "tools_identical": sum(json.loads(a["tools"]) == json.loads(b["tools"]) for a, b in pairs),
        "columns": sorted(ds.column_names),
        "bytes": (folder / "data" / "train.jsonl").stat().st_size,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), parquet=sys.argv[2:] == ["parquet"])))
