"""The ``tdscaling sandbox`` commands: check, run, and one-line refusals for user mistakes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tdscaling.sandbox import cli


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command keeps "sandbox" a sub-command
    cli.register(app)
    return app


def _tdscaling() -> str:
    return shutil.which("tdscaling") or str(Path(sys.executable).with_name("tdscaling"))


def test_check_json_reports_the_level_and_every_layer() -> None:
    result = CliRunner().invoke(_app(), ["sandbox", "check", "--json", "--backend", "local"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == "strong" and report["mechanism"] == "bwrap"
    assert {layer["name"] for layer in report["layers"]} >= {"bubblewrap", "memory cgroup", "pids cgroup"}


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a workspace tmpfs needs root")
def test_check_reports_the_workspace_size_cap_and_says_when_the_host_refuses_it() -> None:
    capped = subprocess.run([_tdscaling(), "sandbox", "check", "--json", "--backend", "local"], capture_output=True,
                            text=True, timeout=60)
    layers = {layer["name"]: layer for layer in json.loads(capped.stdout)["layers"]}
    assert layers["workspace size cap"]["active"] and "256 MB" in layers["workspace size cap"]["detail"]
    # Without CAP_SYS_ADMIN no tmpfs can be mounted: the report must say the cap is absent, not pretend.
    uncapped = subprocess.run(["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", _tdscaling(),
                               "sandbox", "check", "--json", "--backend", "local"], capture_output=True, text=True,
                              timeout=60)
    report = json.loads(uncapped.stdout)
    layers = {layer["name"]: layer for layer in report["layers"]}
    assert not layers["workspace size cap"]["active"] and "refused" in layers["workspace size cap"]["detail"]
    assert any("no workspace size cap" in w for w in report["warnings"])


def test_run_file_prints_the_output_and_exits_with_the_programs_code(tmp_path: Path) -> None:
    program = tmp_path / "prog.sh"
    program.write_text("echo from-bash; exit 7\n")
    result = CliRunner().invoke(_app(), ["sandbox", "run", str(program), "--backend", "local"])
    assert result.exit_code == 7
    assert result.stdout == "from-bash\n"


def test_run_dash_reads_the_program_from_stdin_and_can_print_json() -> None:
    result = CliRunner().invoke(_app(), ["sandbox", "run", "-", "--json", "--backend", "local"], input="print(2 ** 10)")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stdout"] == "1024\n"


def test_user_mistakes_exit_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    cases = [
        ["sandbox", "run", str(tmp_path / "missing.py")],
        ["sandbox", "serve", "--transport", "carrier-pigeon"],
        ["sandbox", "serve", "--memory-mb", "lots"],
        ["sandbox", "serve", "--timeout-s", "-1"],
        ["sandbox", "run", "-", "--language", "ruby"],
        ["sandbox", "serve", "--record", str(tmp_path / "file.txt" / "r.jsonl")],
        ["sandbox", "serve", "--record", "/proc/r.jsonl"],
        ["sandbox", "serve", "--record", str(tmp_path)],
        ["sandbox", "serve", "--workspace", str(tmp_path / "file.txt" / "ws")],
        ["sandbox", "serve", "--workspace", str(tmp_path / "file.txt")],
        ["sandbox", "serve", "--max-http-sessions", "0"],
        ["sandbox", "serve", "--http-session-idle-s", "soon"],
    ]
    (tmp_path / "file.txt").write_text("a file where a directory would be")
    for argv in cases:
        result = CliRunner().invoke(_app(), argv, input="pass")
        assert result.exit_code == 2, (argv, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, (argv, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # nothing was made


def test_require_isolation_strong_refuses_to_start_where_only_weak_isolation_exists(tmp_path: Path) -> None:
    # With no bwrap or unshare on PATH the host offers no isolation at all, so serve must refuse.
    done = subprocess.run(
        [_tdscaling(), "sandbox", "serve", "--backend", "local", "--require-isolation", "strong"],
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and "'strong' is required" in done.stderr
    assert "NO ISOLATION" in done.stderr


def test_serving_code_execution_on_a_public_address_is_refused_without_insecure() -> None:
    result = CliRunner().invoke(_app(), ["sandbox", "serve", "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "refusing to serve on 0.0.0.0 without --token" in result.stderr
    assert "could run code on this machine" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
