"""The public API is real: every name in every ``__all__`` imports, the task functions say how to use them with
an example, docs/api.md names every public name, and the README's Python example runs as written."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tdscaling.common", "tdscaling.servers", "tdscaling.client", "tdscaling.synth", "tdscaling.sandbox")
# The task-level functions and types a user starts from: each docstring holds an example.
TASKS = {
    "tdscaling.servers": ("Catalog", "generate_clusters", "read_clusters", "write_clusters", "find_cluster",
                          "cluster_stats", "serve", "serve_async", "claude_desktop_config"),
    "tdscaling.client": ("run_episode", "run_episode_async", "verify", "verify_async", "model_backend"),
    "tdscaling.synth": ("plan", "synthesize", "synthesize_async", "demo", "demo_async", "export", "RunConfig"),
    "tdscaling.sandbox": ("serve_sandbox", "serve_sandbox_async", "run_code", "run_code_async"),
}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_imports_and_is_what_dir_lists(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, package
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    assert dir(module) == sorted(module.__all__)
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)  # the star import a user may write
    assert set(module.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    import tdscaling.client

    with pytest.raises(AttributeError, match=r"'tdscaling\.client' has no attribute 'run_blueprint'"):
        _ = tdscaling.client.run_blueprint  # type: ignore[attr-defined]


@pytest.mark.parametrize(("package", "name"), [(p, n) for p, names in TASKS.items() for n in names])
def test_each_task_function_has_a_docstring_with_an_example(package: str, name: str) -> None:
    module = importlib.import_module(package)
    assert name in module.__all__
    doc = inspect.getdoc(getattr(module, name)) or ""
    assert "Example::" in doc and f"{name.split('_async')[0]}" in doc.split("Example::", 1)[1], f"{package}.{name}"


def test_docs_api_names_every_public_name() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [f"{p}.{n}" for p in PACKAGES for n in importlib.import_module(p).__all__ if f"`{n}`" not in text]
    assert missing == [], f"docs/api.md does not mention: {missing}"


def test_the_readmes_python_example_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## From Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    assert "._" not in code.group(1), "the README's example uses a private module"
    r = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("accepted ['") and "no_final_answer" in lines[1] and lines[2] == "200", r.stdout
    assert (tmp_path / "runs" / "py-dataset" / "data" / "train.jsonl").is_file()
    assert (tmp_path / "clusters.jsonl").read_text().count("\n") == 200


def test_the_ownership_list_has_one_line_for_every_module_and_none_for_a_gone_one() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([^`]+\.py)` \|", text, re.M)
    modules = sorted(str(p.relative_to(ROOT)) for part in ("servers", "client", "synth", "sandbox")
                     for p in (ROOT / part).rglob("*.py"))
    assert sorted(set(modules) - set(listed)) == [], "modules without a line in docs/architecture.md"
    assert sorted(set(listed) - set(modules)) == [], "lines in docs/architecture.md for modules that are gone"
    assert len(listed) == len(set(listed)), "a module listed twice"
