"""The synthesis run: its files, kill -9 and resume with nothing lost or duplicated (exports: test_export.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

RUN = ["--rounds", "3", "--per-round", "14", "--seed", "3", "--concurrency", "4"]


def _cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    # stderr is a pipe: rich would assume 80 columns if COLUMNS said so
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def full_run_stderr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("runs") / "full"
    r = _cli("synth", "run", "--out", str(out), *RUN)
    assert r.returncode == 0, r.stderr
    return out, r.stderr


@pytest.fixture(scope="module")
def full_run(full_run_stderr: tuple[Path, str]) -> Path:
    return full_run_stderr[0]


def test_progress_to_a_pipe_is_one_whole_line_per_round(full_run_stderr: tuple[Path, str]) -> None:
    lines = [line for line in full_run_stderr[1].splitlines() if line.strip()]
    rounds = [line for line in lines if line.startswith("round ")]
    assert [line.split(":")[0] for line in rounds] == ["round 1/3", "round 2/3", "round 3/3"], lines
    assert all(len(line) > 80 and line.split()[-2:][0] == "paths" for line in rounds), rounds
    assert len(lines) == len(rounds), f"stray or wrapped lines: {lines}"


def test_a_run_writes_every_output_file_with_its_fields(full_run: Path) -> None:
    for name in ("trajectories.jsonl", "rejected.jsonl", "failures.jsonl", "clusters.jsonl", "rounds.jsonl",
                 "manifest.json", "report.md", "metrics.png"):
        assert (full_run / name).exists(), name
    rounds = _lines(full_run / "rounds.jsonl")
    assert [r["round"] for r in rounds] == [1, 2, 3]
    for r in rounds:
        assert {"round", "domain_entropy", "mode_entropy", "domain_entropy_norm", "mode_entropy_norm", "cac",
                "distinct_paths", "accepted", "rejected"} <= set(r)
    assert rounds[-1]["accepted"] >= rounds[0]["accepted"] > 0
    trajectories = _lines(full_run / "trajectories.jsonl")
    assert len(trajectories) == rounds[-1]["accepted"]
    assert len({t["id"] for t in trajectories}) == len(trajectories)
    assert all(t["verdict"] == "accepted" and t["labels"]["observed_mode"] for t in trajectories)
    cluster_ids = {c["id"] for c in _lines(full_run / "clusters.jsonl")}
    assert {t["labels"]["cluster_id"] for t in trajectories} <= cluster_ids
    manifest = json.loads((full_run / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"]["per_round"] == 14 and manifest["versions"]["mcp"]
    assert (full_run / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| round |" in (full_run / "report.md").read_text()


def test_a_run_killed_with_sigkill_resumes_with_nothing_lost_and_nothing_duplicated(
    full_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    host_tmp = tmp_path / "host-tmp"  # where the run's sandbox keeps its root: what kill -9 leaves is seen here
    host_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(host_tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "tdscaling.synth", "synth", "run", "--out", str(out), *RUN],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    deadline = time.monotonic() + 300
    target = out / "trajectories.jsonl"
    while time.monotonic() < deadline and proc.poll() is None:
        if target.exists() and target.read_text().count("\n") >= 20:  # into round 2
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with target.open("a") as f:
        f.write('{"id": "torn')  # what a kill in the middle of a write leaves behind
    left = [p for p in host_tmp.iterdir() if p.name.startswith(f"tdscaling-sandbox-{proc.pid}-")]
    assert left and _cgroups_of(proc.pid), "the killed run left nothing to clean (the check below would prove nothing)"
    r = _cli("synth", "run", "--out", str(out), *RUN, "--resume", env=env)
    assert r.returncode == 0, r.stderr
    assert list(host_tmp.iterdir()) == [] and _cgroups_of(proc.pid) == []  # the resume removed them
    resumed = _lines(target)
    ids = [t["id"] for t in resumed]
    assert len(ids) == len(set(ids)), "a trajectory was written twice"
    expected = {t["id"] for t in _lines(full_run / "trajectories.jsonl")}
    assert set(ids) == expected, "the resumed run differs from an uninterrupted one"
    assert [x["round"] for x in _lines(out / "rounds.jsonl")] == [1, 2, 3]
    assert _lines(out / "rounds.jsonl")[-1]["accepted"] == len(expected)


def _cgroups_of(pid: int) -> list[Path]:
    from tdscaling.sandbox import owned_cgroups

    return owned_cgroups(pid)


FLAKY = Path(__file__).with_name("flaky_run.py")
RECORDS = ("trajectories.jsonl", "rejected.jsonl", "failures.jsonl")


def _keys(out: Path) -> dict[str, list[str]]:
    return {name: [r["task"] for r in _lines(out / name)] for name in (*RECORDS, "blueprints.jsonl")}


def test_a_run_with_rejections_and_unplannable_tasks_resumes_exactly_after_sigkill(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    r = subprocess.run([sys.executable, str(FLAKY), str(whole)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    expected = _keys(whole)
    assert all(expected[name] for name in RECORDS), "the run must leave every kind of record"
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(FLAKY), str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        written = sum((killed / n).read_text().count("\n") for n in RECORDS if (killed / n).exists())
        if written >= 20:  # inside round 2
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    r = subprocess.run([sys.executable, str(FLAKY), str(killed), "--resume"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    got = _keys(killed)
    for name, keys in got.items():
        assert len(keys) == len(set(keys)), f"{name} has a task twice"
        assert sorted(keys) == sorted(expected[name]), name
    assert _lines(killed / "rounds.jsonl") == _lines(whole / "rounds.jsonl")


def test_resuming_needs_the_same_flags_and_a_fresh_run_needs_an_empty_directory(full_run: Path) -> None:
    r = _cli("synth", "run", "--out", str(full_run), *RUN)
    assert r.returncode == 2 and "not empty; pass --resume" in r.stderr
    r = _cli("synth", "run", "--out", str(full_run), "--rounds", "3", "--per-round", "15", "--seed", "3", "--resume")
    assert r.returncode == 2 and "another configuration" in r.stderr and "Traceback" not in r.stderr


def test_export_of_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path: Path) -> None:
    r = _cli("export", str(tmp_path), "-o", str(tmp_path / "x.jsonl"))
    assert r.returncode == 2 and "has no trajectories.jsonl" in r.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_the_demo_runs_offline_and_says_where_the_dataset_is(tmp_path: Path) -> None:
    r = _cli("demo", "--out", str(tmp_path / "demo"), "--rounds", "1", "--per-round", "12")
    assert r.returncode == 0, r.stderr
    assert "dataset:" in r.stdout and "report:" in r.stdout and "H_D norm" in r.stdout
    assert _lines(tmp_path / "demo" / "trajectories.jsonl")


def test_the_demo_never_deletes_a_directory_it_did_not_make(tmp_path: Path, full_run: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "manifest.json").write_text("{}")
    (precious / "trajectories.jsonl").write_text('{"id": "mine"}\n')
    r = _cli("demo", "--out", str(precious), "--rounds", "1", "--per-round", "2")
    assert r.returncode == 2 and "not an earlier demo" in r.stderr
    assert (precious / "trajectories.jsonl").read_text() == '{"id": "mine"}\n'
    r = _cli("demo", "--out", str(full_run), "--rounds", "1", "--per-round", "2")
    assert r.returncode == 2 and (full_run / "rounds.jsonl").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--domains", "nosuch"], "unknown domain nosuch"),
    (["--clusters", "{junk}"], "junk.jsonl: line 1"),
    (["--clusters", "{empty}"], "holds no clusters"),
], ids=["unknown domain", "junk clusters file", "empty clusters file"])
def test_a_bad_run_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "junk.jsonl").write_text("not json\n")
    (tmp_path / "empty.jsonl").write_text("")
    args = [a.format(junk=tmp_path / "junk.jsonl", empty=tmp_path / "empty.jsonl") for a in args]
    out = tmp_path / "out"
    r = _cli("synth", "run", "--out", str(out), "--rounds", "1", "--per-round", "2", *args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


PATH_CASES = [
    ("--out under a file", ["synth", "run", "--out", "{file}/run"], "README.md is a file, not a directory"),
    ("--out in /proc", ["synth", "run", "--out", "/proc/tdscaling-run"], "/proc does not take new files"),
    ("--out that is a file", ["synth", "run", "--out", "{file}"], "is a file; --out takes a directory"),
    ("--resume of a missing folder", ["synth", "run", "--out", "{tmp}/never-made", "--resume"],
     "does not exist, so there is no run to resume"),
    ("--resume of an empty folder", ["synth", "run", "--out", "{tmp}/empty", "--resume"], "has no manifest.json"),
    ("--resume with a corrupt manifest", ["synth", "run", "--out", "{tmp}/corrupt", "--resume"],
     "manifest.json: cannot be read (JSONDecodeError"),
    ("--resume with a manifest that is a list", ["synth", "run", "--out", "{tmp}/listed", "--resume"],
     "not a run manifest"),
    ("demo --out under a file", ["demo", "--out", "{file}/demo"], "README.md is a file, not a directory"),
    ("export -o under a file", ["export", "{tmp}/corrupt", "-o", "{file}/train.jsonl"],
     "-o {file}/train.jsonl: "),
    ("export -o in /proc", ["export", "{tmp}/corrupt", "-o", "/proc/train.jsonl"], "/proc does not take new files"),
]


@pytest.mark.parametrize(("case", "args", "needle"), PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_a_bad_path_is_refused_before_any_work_with_one_line_and_nothing_written(
        tmp_path: Path, case: str, args: list[str], needle: str) -> None:
    (tmp_path / "README.md").write_text("a file where a directory would be\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "manifest.json").write_text('{"config": {"rounds": 1, ')  # torn by a crash
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "manifest.json").write_text("[]")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    fill = {"file": str(tmp_path / "README.md"), "tmp": str(tmp_path)}
    r = _cli(*[a.format(**fill) for a in args], "--rounds", "1", "--per-round", "2") if args[0] != "export" else \
        _cli(*[a.format(**fill) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle.format(**fill) in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing made or changed


def test_a_manifest_written_before_a_config_field_existed_still_resumes_but_another_value_does_not(
        tmp_path: Path) -> None:
    out = tmp_path / "run"
    small = ["--rounds", "1", "--per-round", "2"]
    assert _cli("synth", "run", "--out", str(out), *small).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["config"]["task_time_s"]  # as a run made by the version before the field
    (out / "manifest.json").write_text(json.dumps(manifest))
    r = _cli("synth", "run", "--out", str(out), *small, "--resume")
    assert r.returncode == 0, r.stderr
    r = _cli("synth", "run", "--out", str(out), *small, "--task-time-s", "30", "--resume")
    assert r.returncode == 2 and "another configuration" in r.stderr


def test_a_run_cannot_be_resumed_with_another_catalog(tmp_path: Path) -> None:
    from tdscaling.servers import Catalog

    extra = tmp_path / "extra"
    extra.mkdir()
    shop = json.loads((Path(__file__).resolve().parents[2] / "servers" / "domains" / "online_store.json").read_text())
    shop["name"] = "my_shop"
    (extra / "my_shop.json").write_text(json.dumps(shop))
    assert "my_shop" in Catalog.load([extra])
    out = tmp_path / "run"
    r = _cli("synth", "run", "--out", str(out), "--rounds", "1", "--per-round", "3", "--catalog", str(extra))
    assert r.returncode == 0, r.stderr
    r = _cli("synth", "run", "--out", str(out), "--rounds", "1", "--per-round", "3", "--resume")
    assert r.returncode == 2 and "another domain catalog" in r.stderr and "my_shop" in r.stderr


def test_export_refuses_to_overwrite_the_run_and_keeps_unparsable_arguments(full_run: Path, tmp_path: Path) -> None:
    r = _cli("export", str(full_run), "-o", str(full_run / "trajectories.jsonl"))
    assert r.returncode == 2 and "the run itself or one of its files" in r.stderr
    from tdscaling.synth import openai_row, sharegpt_row

    row = _lines(full_run / "trajectories.jsonl")[0]
    call = next(m for m in row["messages"] if m.get("tool_calls"))
    call["tool_calls"][0]["function"]["arguments"] = "{not json"
    turn = next(t for t in sharegpt_row(row)["conversations"] if t["from"] == "function_call")
    assert json.loads(turn["value"].rpartition("<tool_call>")[2].removesuffix("</tool_call>"))["arguments"] \
        == "{not json"
    message = next(m for m in openai_row(row)["messages"] if m.get("tool_calls"))
    assert message["tool_calls"][0]["function"]["arguments"] == "{not json"  # the model wrote it so
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "trajectories.jsonl").write_text(json.dumps(row) + "\nnot json\n")
    r = _cli("export", str(tmp_path / "run"), "-o", str(tmp_path / "x.jsonl"))
    assert r.returncode == 2 and "line 2" in r.stderr and not (tmp_path / "x.jsonl").exists()
