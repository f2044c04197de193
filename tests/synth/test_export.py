"""Exports of a real offline run: rows that train as they are, dataset folders that every datasets release from
3.6 reads with no arguments, a card that says how the data was made, and writes that are whole or absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from old_datasets import OLD_RELEASES, load, python_with

from tdscaling.synth._export_rows import OBSERVATIONS

MIB = 1 << 20


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True,
                          timeout=600)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _one_line_error(r: subprocess.CompletedProcess[str], needle: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def source(big_run: Path) -> list[dict[str, Any]]:
    return _lines(big_run / "trajectories.jsonl")


def _calls(messages: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    return [(tc["id"], tc["function"]["name"], tc["function"]["arguments"]) for m in messages
            for tc in m.get("tool_calls") or []]


def test_the_openai_rows_have_object_arguments_named_tool_replies_a_tools_string_and_no_labels_column(
        folders: dict[str, Path], source: list[dict[str, Any]]) -> None:
    rows = _lines(folders["objects"] / "data" / "train.jsonl")
    assert len(rows) == len(source) and [r["id"] for r in rows] == [t["id"] for t in source]
    for row, t in zip(rows, source, strict=True):
        assert set(row) == {"id", "messages", "tools", "metadata"}
        assert row["metadata"]["task"] == t["task"] and row["metadata"]["cluster_id"] == t["labels"]["cluster_id"]
        assert [(i, n, a) for i, n, a in _calls(row["messages"])] == \
            [(i, n, json.loads(a)) for i, n, a in _calls(t["messages"])]
        assert all(isinstance(a, dict) for _, _, a in _calls(row["messages"]))
        names = {i: n for i, n, _ in _calls(row["messages"])}
        replies = [m for m in row["messages"] if m["role"] == "tool"]
        assert replies and all(m["name"] == names[m["tool_call_id"]] for m in replies)
        assert json.loads(row["tools"]) == [
            {"type": "function", "function": {"name": x["function"]["name"],
                                              "description": x["function"]["description"],
                                              "parameters": x["function"]["parameters"]}} for x in t["tools"]]


def test_string_arguments_are_the_recorded_json_and_validate_as_openai_messages(
        folders: dict[str, Path], source: list[dict[str, Any]]) -> None:
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
    from pydantic import TypeAdapter

    messages = TypeAdapter(list[ChatCompletionMessageParam])
    tools = TypeAdapter(list[ChatCompletionToolParam])
    for row, t in zip(_lines(folders["strings"] / "data" / "train.jsonl"), source, strict=True):
        messages.validate_python(row["messages"], strict=True)
        tools.validate_python(json.loads(row["tools"]), strict=True)
        assert _calls(row["messages"]) == _calls(t["messages"])


def _parallel(messages: list[dict[str, Any]]) -> bool:
    return any(len(m.get("tool_calls") or []) > 1 for m in messages)


def test_split_rows_make_the_same_calls_one_per_turn_each_followed_by_its_reply(
        folders: dict[str, Path], source: list[dict[str, Any]]) -> None:
    rows = _lines(folders["split"] / "data" / "train.jsonl")
    parallel = [(row, t) for row, t in zip(rows, source, strict=True) if _parallel(t["messages"])]
    assert len(parallel) > 20, "the run must have rows with parallel calls"
    for row, t in zip(rows, source, strict=True):
        messages = row["messages"]
        assert not _parallel(messages)
        assert [(i, n) for i, n, _ in _calls(messages)] == [(i, n) for i, n, _ in _calls(t["messages"])]
        for k, m in enumerate(messages):
            if m.get("tool_calls"):
                reply = messages[k + 1]
                assert reply["role"] == "tool" and reply["tool_call_id"] == m["tool_calls"][0]["id"]
        said = [m["content"] for m in messages if m["role"] == "assistant" and m.get("content")]
        assert said == [m["content"] for m in t["messages"] if m["role"] == "assistant" and m.get("content")]


def test_split_rows_are_accepted_by_the_verifier(folders: dict[str, Path], source: list[dict[str, Any]],
                                                 big_run: Path) -> None:
    from tdscaling.client import Blueprint, Harness
    from tdscaling.servers import Catalog

    folder = folders["split"]
    blueprints = {r["task"]: Blueprint.model_validate(r["blueprint"])
                  for r in _lines(folder / "verify" / "blueprints.jsonl")}
    split = [row for row, t in zip(_lines(folder / "data" / "train.jsonl"), source, strict=True)
             if _parallel(t["messages"])]
    harness = Harness(Catalog.load(), clusters_file=folder / "verify" / "clusters.jsonl")

    async def judge_all() -> list[tuple[str, str, list[str]]]:
        out = []
        for row in split:
            j = await harness.verify(blueprints[row["metadata"]["task"]], row["messages"])
            out.append((row["id"], j.verdict, j.reasons))
        return out

    verdicts = anyio.run(judge_all)
    assert [v for v in verdicts if v[1] != "accepted"] == []
    # and through the command the card tells a reader to run, with the folder's own files
    row = split[0]
    (folder.parent / "row.json").write_text(json.dumps(row))
    bp = next(r for r in _lines(folder / "verify" / "blueprints.jsonl") if r["task"] == row["metadata"]["task"])
    (folder.parent / "bp.json").write_text(json.dumps(bp["blueprint"]))
    r = _cli("episode", "verify", "--blueprint", str(folder.parent / "bp.json"), "--trajectory",
             str(folder.parent / "row.json"), "--clusters", str(folder / "verify" / "clusters.jsonl"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["verdict"] == "accepted", r.stdout + r.stderr


def test_sharegpt_keeps_the_text_beside_calls_and_gives_each_parallel_result_its_own_block(
        folders: dict[str, Path], source: list[dict[str, Any]]) -> None:
    rows = _lines(folders["sharegpt"] / "data" / "train.jsonl")
    texts_beside_calls = 0
    for row, t in zip(rows, source, strict=True):
        turns = row["conversations"]
        assert [turn["from"] in (("human", "observation") if i % 2 == 0 else ("gpt", "function_call"))
                for i, turn in enumerate(turns)] == [True] * len(turns), [x["from"] for x in turns]
        assert turns[-1]["from"] == "gpt" and row["system"] == t["messages"][0]["content"]
        assert all("name" in f for f in json.loads(row["tools"]))
        calling = [m for m in t["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
        calls = [turn["value"] for turn in turns if turn["from"] == "function_call"]
        observations = [turn["value"] for turn in turns if turn["from"] == "observation"]
        assert len(calls) == len(calling) == len(observations)
        for value, m, observation in zip(calls, calling, observations, strict=True):
            text = (m.get("content") or "").strip()
            if text:
                texts_beside_calls += 1
                head, _, rest = value.partition("\n<tool_call>")
                assert head == text and rest.endswith("</tool_call>"), value
                value = rest.removesuffix("</tool_call>")
            parsed = json.loads(value)
            parsed = parsed if isinstance(parsed, list) else [parsed]
            assert [(c["name"], c["arguments"]) for c in parsed] == \
                [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in m["tool_calls"]]
            assert len(observation.split(OBSERVATIONS)) == len(m["tool_calls"])
    assert texts_beside_calls > 100, "the scripted assistant says what it does beside most calls"


def test_a_folder_export_over_10_mb_loads_with_no_arguments_in_the_installed_datasets(
        folders: dict[str, Path]) -> None:
    import datasets

    objects = load(folders["objects"])
    assert objects["bytes"] > 10 * MIB, "the export must be over datasets' 10 MB chunk to test the chunked reader"
    assert objects["version"] == datasets.__version__ and datasets.__version__ >= "4.7"
    assert objects["columns"] == ["id", "messages", "metadata", "tools"]
    # datasets >= 4.7 reads per-tool argument objects exactly (its Json type)
    assert objects["rows"] == objects["same_values"] == objects["tools_identical"] == objects["written"]
    for name in ("strings", "sharegpt", "split"):
        got = load(folders[name])
        assert got["rows"] == got["same_values"] == got["written"], (name, got)
    pq = load(folders["objects"], parquet=True)
    assert pq["rows"] == pq["same_values_without_none"] == pq["written"]


@pytest.mark.parametrize("version", OLD_RELEASES)
def test_a_folder_export_over_10_mb_loads_with_no_arguments_in_an_old_datasets_release(
        folders: dict[str, Path], version: str) -> None:
    python = python_with(version)
    objects = load(folders["objects"], python=python)
    assert objects["version"] == version and objects["bytes"] > 10 * MIB
    # it loads (without the card's chunksize: "Couldn't cast array of type struct<...>") with every tool list
    # intact; Arrow pads each arguments object with the keys of all tools and reads dates as datetime
    assert objects["rows"] == objects["tools_identical"] == objects["written"]
    assert objects["columns"] == ["id", "messages", "metadata", "tools"]
    strings = load(folders["strings"], python=python)  # the layout the card recommends for these releases
    assert strings["rows"] == strings["same_values_without_none"] == strings["tools_identical"] == strings["written"]
    sharegpt = load(folders["sharegpt"], python=python)
    assert sharegpt["rows"] == sharegpt["identical"] == sharegpt["written"]
    pq = load(folders["objects"], python=python, parquet=True)
    assert pq["rows"] == pq["same_values_without_none"] == pq["written"]


def test_the_card_header_is_what_the_hub_reads(folders: dict[str, Path], source: list[dict[str, Any]]) -> None:
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(folders["objects"] / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0" and data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"] and len(source) < 1000
    assert data["configs"] == [{"config_name": "default", "data_files": [{"split": "train",
                                                                          "path": "data/train.jsonl"}],
                                "chunksize": data["configs"][0]["chunksize"]}]
    assert data["configs"][0]["chunksize"] > (folders["objects"] / "data" / "train.jsonl").stat().st_size
    sharegpt = DatasetCard.load(folders["sharegpt"] / "README.md").data.to_dict()
    features = {f["name"]: f for f in sharegpt["dataset_info"]["features"]}
    assert set(features) == {"id", "conversations", "system", "tools", "metadata"}
    assert [f["name"] for f in features["metadata"]["struct"]] == list(
        _lines(folders["sharegpt"] / "data" / "train.jsonl")[0]["metadata"])


def test_the_card_states_how_the_data_was_made_and_what_was_rejected(flaky_run: Path, tmp_path: Path) -> None:
    r = _cli("export", str(flaky_run), "-o", f"{tmp_path / 'ds'}/")
    assert r.returncode == 0, r.stderr
    card = (tmp_path / "ds" / "README.md").read_text()
    manifest = json.loads((flaky_run / "manifest.json").read_text())
    last = _lines(flaky_run / "rounds.jsonl")[-1]
    rejected = _lines(flaky_run / "rejected.jsonl")
    failures = _lines(flaky_run / "failures.jsonl")
    rows = _lines(tmp_path / "ds" / "data" / "train.jsonl")
    assert rejected and failures and rows
    assert f"| `per_round` | {manifest['config']['per_round']} |" in card
    assert f"Seed: {manifest['seed']}." in card
    assert all(f"| `{d}` | `{digest}` |" in card for d, digest in manifest["catalog"].items())
    assert f"normalized domain entropy {last['domain_entropy_norm']:.3f}" in card
    assert f"{last['distinct_paths']} distinct tool paths" in card
    calls = sum(len(m.get("tool_calls") or []) for row in rows for m in row["messages"])
    users = sum(m["role"] == "user" for row in rows for m in row["messages"])
    assert f"{users / len(rows):.2f} user turns and {calls / len(rows):.2f} tool calls on average" in card
    assert f"{len(rejected)} rejected" in card and f"{len(failures)} could not be planned" in card
    reasons = {reason for row in rejected for reason in row["reasons"]}
    assert all(f"| `{reason}` |" in card for reason in reasons)
    assert "tdscaling episode verify --blueprint blueprint.json --trajectory row.json" in card


def test_a_folder_is_written_whole_replaces_only_an_earlier_export_and_never_the_run(
        big_run: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    _one_line_error(_cli("export", str(big_run), "-o", f"{foreign}/"), "not an earlier `tdscaling export`")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    _one_line_error(_cli("export", str(big_run), "-o", f"{big_run}/"), "the run itself")
    out = tmp_path / "ds"
    assert _cli("export", str(big_run), "-o", f"{out}/", "--format", "sharegpt").returncode == 0
    assert _cli("export", str(big_run), "-o", str(out)).returncode == 0  # an existing folder: an export again
    assert "messages" in _lines(out / "data" / "train.jsonl")[0]
    broken = tmp_path / "broken"
    broken.mkdir()
    good = (big_run / "trajectories.jsonl").read_text().splitlines()
    (broken / "trajectories.jsonl").write_text("\n".join([*good[:50], '{"id": "x"}', *good[50:60]]) + "\n")
    _one_line_error(_cli("export", str(broken), "-o", f"{out}/"), "line 51")
    assert "messages" in _lines(out / "data" / "train.jsonl")[0], "the earlier export must survive a failed one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "ds", "mine"], "a temporary folder was left"


@pytest.mark.parametrize(("args", "needle"), [
    (["--format", "sharegpt", "--arguments", "string"], "--arguments string applies to --format openai"),
    (["--parquet"], "--parquet needs a folder"),
    (["--check-template", "no_such_template"], "ships no template 'no_such_template'"),
    (["--check-template", "./missing.jinja"], "no such template file"),
    (["--format", "sharegpt", "--check-template", "qwen2_5"], "renders the OpenAI layout"),
], ids=["string arguments in sharegpt", "parquet into a file", "unknown template", "missing template file",
        "template check of sharegpt"])
def test_a_bad_export_flag_is_one_line_and_writes_nothing(big_run: Path, tmp_path: Path, args: list[str],
                                                          needle: str) -> None:
    _one_line_error(_cli("export", str(big_run), "-o", str(tmp_path / "x.jsonl"), *args), needle)
    assert list(tmp_path.iterdir()) == []


def test_without_transformers_the_template_check_says_how_to_install_it(big_run: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.jinja"
    template.write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    code = ("import sys; sys.modules['transformers'] = None; sys.argv = ['tdscaling'] + sys.argv[1:]; "
            "from tdscaling.synth.cli import main; main()")
    env = {**os.environ}
    r = subprocess.run([sys.executable, "-c", code, "export", str(big_run), "-o", str(tmp_path / "x.jsonl"),
                        "--check-template", str(template)], capture_output=True, text=True, env=env, timeout=300)
    _one_line_error(r, "pip install 'tdscaling[train]'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jinja"]
