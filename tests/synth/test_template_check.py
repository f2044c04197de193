"""``--check-template`` renders every exported row through the chat templates TRL ships, with transformers'
``apply_chat_template``, and finds the rows a template rejects or whose arguments it encodes twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tiny_model import trl_template, word_tokenizer

from tdscaling.synth import ExportOptions, check_export
from tdscaling.synth._export import rows


def _parallel_rows(run: Path) -> set[str]:
    return {row["id"] for _, row in rows(run, ExportOptions())
            if any(len(m.get("tool_calls") or []) > 1 for m in row["messages"])}


@pytest.mark.parametrize(("template", "options"), [
    ("qwen2_5", ExportOptions()),
    ("qwen3", ExportOptions()),
    ("qwen3", ExportOptions(arguments="string")),  # Qwen3 passes a string through unchanged
    ("llama3_1", ExportOptions(parallel_calls="split")),
    ("deepseekv3", ExportOptions(arguments="string")),
], ids=["qwen2_5", "qwen3", "qwen3 strings", "llama3_1 split", "deepseekv3 strings"])
def test_every_row_renders_without_error_or_double_encoding(big_run: Path, template: str,
                                                            options: ExportOptions) -> None:
    report = check_export(big_run, options, template)
    assert report.rows > 600
    assert (report.rendered, report.failed, report.double_encoded) == (report.rows, {}, []), report.details()


def test_llama_3_1_rejects_exactly_the_rows_with_parallel_calls_unless_they_are_split(big_run: Path) -> None:
    report = check_export(big_run, ExportOptions(), "llama3_1")
    assert set(report.failed) == _parallel_rows(big_run) and report.failed
    assert {e for e in report.failed.values()} == {
        "TemplateError: This model only supports single tool-calls at once!"}
    assert any("--parallel-calls split" in line for line in report.details())


def test_string_arguments_are_found_double_encoded_where_qwen2_5_really_encodes_them_twice(big_run: Path) -> None:
    report = check_export(big_run, ExportOptions(arguments="string"), "qwen2_5")
    assert not report.failed and len(report.double_encoded) == report.rows
    # what the report means, seen in the text the template really renders
    tokenizer = word_tokenizer(trl_template("qwen2_5"))
    by_kind: dict[str, str] = {}
    for kind, options in (("string", ExportOptions(arguments="string")), ("object", ExportOptions())):
        row = next(r for _, r in rows(big_run, options))
        by_kind[kind] = tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]),
                                                      tokenize=False)
    assert '"arguments": "{\\"' in by_kind["string"] and '"arguments": "' not in by_kind["object"]
    assert '"arguments": {"' in by_kind["object"]


def test_deepseek_v3_rejects_object_arguments(big_run: Path) -> None:
    report = check_export(big_run, ExportOptions(), "deepseekv3")
    assert report.rendered == 0 and any("--arguments string" in line for line in report.details())


def _export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tdscaling.synth", "export", *args], capture_output=True,
                          text=True, timeout=600)


def test_a_failing_check_exits_1_and_writes_nothing_and_a_passing_one_writes_the_export(
        big_run: Path, tmp_path: Path) -> None:
    r = _export(str(big_run), "-o", f"{tmp_path / 'llama'}/", "--check-template", "llama3_1")
    assert r.returncode == 1 and "rows fail: TemplateError" in r.stderr and "nothing written" in r.stderr
    assert list(tmp_path.iterdir()) == []
    template = tmp_path / "llama3_1.jinja"  # any Jinja file works as well as a name
    template.write_text(trl_template("llama3_1"))
    r = _export(str(big_run), "-o", f"{tmp_path / 'llama'}/", "--check-template", str(template),
                "--parallel-calls", "split")
    assert r.returncode == 0, r.stderr
    assert f"template {template.name}: " in r.stderr and " 0 double-encode" in r.stderr
    assert (tmp_path / "llama" / "data" / "train.jsonl").exists()


def test_a_template_error_is_reported_per_row_and_a_broken_template_fails_every_row(big_run: Path,
                                                                                    tmp_path: Path) -> None:
    template = tmp_path / "broken.jinja"
    template.write_text("{{ messages[0].content | no_such_filter }}")
    r = _export(str(big_run), "-o", str(tmp_path / "x.jsonl"), "--check-template", str(template))
    lines: list[Any] = r.stderr.splitlines()
    assert r.returncode == 1 and lines[0].startswith("template broken.jinja: 0/") and "nothing written" in r.stderr
    assert not (tmp_path / "x.jsonl").exists()
