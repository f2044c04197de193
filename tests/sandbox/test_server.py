"""End to end through the real MCP SDK: in process, over stdio and over streamable HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tdscaling.sandbox import IsolationUnavailableError, Limits, SandboxSettings, build_sandbox_server
from tdscaling.sandbox._isolation import detect_local
from tdscaling.sandbox._select import BackendPlan

pytestmark = pytest.mark.anyio

TOOLS = {"execute_code", "write_file", "read_file", "list_files", "reset_session"}


def _settings(tmp_path: Path, **limits: float) -> SandboxSettings:
    return SandboxSettings(
        backend="local", limits=Limits(**{"timeout_s": 10.0, **limits}), record_path=tmp_path / "record.jsonl"
    )


def _tdscaling() -> str:
    found = shutil.which("tdscaling") or str(Path(sys.executable).with_name("tdscaling"))
    assert Path(found).exists(), "the tdscaling console script is not installed"
    return found


async def test_tools_carry_output_schemas_and_annotations(tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    execute = tools["execute_code"]
    assert execute.output_schema is not None
    assert {"stdout", "exit_code", "timed_out", "truncated", "record_id", "cpu_ms", "max_rss_kb"} <= set(
        execute.output_schema["properties"]
    )
    assert execute.annotations is not None and execute.annotations.open_world_hint is False
    assert tools["read_file"].annotations is not None and tools["read_file"].annotations.read_only_hint is True
    assert tools["reset_session"].annotations is not None and tools["reset_session"].annotations.destructive_hint


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_server_reports_the_installed_version(tmp_path: Path, mode: str) -> None:
    from importlib import metadata

    async with Client(build_sandbox_server(_settings(tmp_path)), mode=mode) as client:  # type: ignore[arg-type]
        info = client.server_info
    assert info is not None and info.name == "tdscaling-sandbox"
    assert info.version == metadata.version("tdscaling") != ""


async def test_execute_code_is_recorded_before_the_reply(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with Client(build_sandbox_server(settings)) as client:
        result = await client.call_tool("execute_code", {"code": "print(6 * 7)", "session_id": "rec"})
        assert not result.is_error and result.structured_content is not None
        # Read while the server still runs: the line must already be on disk.
        lines = (tmp_path / "record.jsonl").read_text().splitlines()
    structured = result.structured_content
    assert structured["stdout"] == "42\n" and structured["exit_code"] == 0
    record = json.loads(lines[-1])
    assert record["record_id"] == structured["record_id"]
    assert record["code"] == "print(6 * 7)" and len(record["code_sha256"]) == 64
    assert record["session_id"] == "rec" and record["isolation_level"] == "strong"
    assert record["backend"] == "local" and record["started_at"] <= record["ended_at"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_code_holding_lone_surrogates_runs_and_is_recorded_with_them_escaped(tmp_path: Path, mode: str) -> None:
    # JSON can spell a lone surrogate ("\ud800") and a model's repaired arguments can carry one.
    cases = [("echo 'half \ud800 of a pair'; echo ran", "bash"), ("print('ran')  # \udcff", "python")]
    async with Client(build_sandbox_server(_settings(tmp_path)), mode=mode) as client:  # type: ignore[arg-type]
        results = [await client.call_tool("execute_code", {"code": code, "language": language, "session_id": "sur"})
                   for code, language in cases]
        recent = json.loads((await client.read_resource("sandbox://executions/recent")).contents[0].text)  # type: ignore[union-attr]
    assert all(not r.is_error and r.structured_content is not None for r in results), results
    assert results[0].structured_content["stdout"].endswith("ran\n")  # type: ignore[index]
    raw = (tmp_path / "record.jsonl").read_bytes()
    lines = raw.decode("utf-8").splitlines()  # valid UTF-8, one line per execution, none missing
    assert [json.loads(line)["code"] for line in lines] == [code for code, _ in cases]
    assert [json.loads(line)["record_id"] for line in lines] == [
        r.structured_content["record_id"] for r in results]  # type: ignore[index]
    assert b"\\ud800" in raw and b"\\udcff" in raw  # escaped, not dropped or replaced
    assert [r["record_id"] for r in recent] == [json.loads(line)["record_id"] for line in lines]


async def test_bad_input_gives_a_tool_error_with_a_clear_message(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"max_code_bytes": 1000})
    cases = [
        ({"code": 5}, "valid string"),
        ({"code": "x" * 1001}, "limit is 1000"),
        ({"code": "pass", "session_id": "a/b"}, "session_id"),
        ({"code": "pass", "session_id": "é"}, "session_id"),
        ({"code": "pass", "language": "ruby"}, "language"),
        ({"code": "pass", "timeout_s": 1e9}, "timeout_s"),
        ({"code": "echo", "language": "bash", "persistent": True}, "Python only"),
        ({}, "code"),
    ]
    async with Client(build_sandbox_server(settings)) as client:
        for arguments, expected in cases:
            result = await client.call_tool("execute_code", arguments)
            assert result.is_error, arguments
            assert expected in result.content[0].text, (arguments, result.content)  # type: ignore[union-attr]
        traversal = await client.call_tool("read_file", {"path": "../../etc/passwd"})
        assert traversal.is_error and "'..'" in traversal.content[0].text  # type: ignore[union-attr]
        still_fine = await client.call_tool("execute_code", {"code": "print('alive')"})
    assert still_fine.structured_content is not None and still_fine.structured_content["stdout"] == "alive\n"


async def test_file_tools_round_trip_and_reset(tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        wrote = await client.call_tool("write_file", {"path": "d/a.txt", "content": "héllo", "session_id": "f"})
        assert wrote.structured_content == {"path": "d/a.txt", "bytes_written": 6, "session_id": "f"}
        read = await client.call_tool("read_file", {"path": "d/a.txt", "session_id": "f"})
        assert read.structured_content is not None and read.structured_content["content"] == "héllo"
        listed = await client.call_tool("list_files", {"session_id": "f"})
        assert listed.structured_content is not None
        assert [f["path"] for f in listed.structured_content["files"]] == ["d", "d/a.txt"]
        reset = await client.call_tool("reset_session", {"session_id": "f"})
        assert reset.structured_content == {"session_id": "f", "existed": True}
        gone = await client.call_tool("read_file", {"path": "d/a.txt", "session_id": "f"})
    assert gone.is_error


async def test_resources_show_the_isolation_and_recent_executions(tmp_path: Path) -> None:
    server = build_sandbox_server(_settings(tmp_path))
    async with Client(server) as client:
        executed = await client.call_tool("execute_code", {"code": "print(1)"})
        isolation = json.loads((await client.read_resource("sandbox://isolation")).contents[0].text)  # type: ignore[union-attr]
        recent = json.loads((await client.read_resource("sandbox://executions/recent")).contents[0].text)  # type: ignore[union-attr]
    assert isolation["level"] == "strong" and isolation["mechanism"] == "bwrap"
    assert executed.structured_content is not None
    assert recent[-1]["record_id"] == executed.structured_content["record_id"]
    assert server.instructions is not None and server.instructions.startswith("isolation: STRONG")


async def test_persistent_mode_keeps_variables_and_survives_a_runaway_cell(tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:

        async def cell(code: str, **extra: object) -> dict[str, object]:
            result = await client.call_tool("execute_code", {"code": code, "persistent": True, **extra})
            assert result.structured_content is not None, result
            return result.structured_content

        assert (await cell("total = 40"))["exit_code"] == 0
        assert (await cell("total += 2\nprint(total)"))["stdout"] == "42\n"
        runaway = await cell("while True:\n    pass", timeout_s=1)
        assert runaway["timed_out"] and not runaway["interpreter_restarted"]
        assert (await cell("print(total)"))["stdout"] == "42\n"  # interrupted, not killed
        stuck = await cell("import time\nsum(range(10**12))", timeout_s=1)  # C code ignores the interrupt
        assert stuck["timed_out"] and stuck["interpreter_restarted"]
        after = await cell("print('total' in globals())")
    assert after["stdout"] == "False\n"


async def test_a_weak_plan_is_refused_when_strong_isolation_is_required(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"require_isolation": "strong"})
    weak = detect_local(settings, only="subprocess")
    with pytest.raises(IsolationUnavailableError, match="'strong' is required"):
        build_sandbox_server(settings, plan=BackendPlan("local", weak.report, weak, None))
    assert weak.report.level == "none" and "NO ISOLATION" in weak.report.warnings[0]


async def test_the_stdio_server_runs_code_in_a_subprocess(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=_tdscaling(), args=["sandbox", "serve", "--record", str(tmp_path / "r.jsonl"), "--timeout-s", "5"]
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool("execute_code", {"code": "echo $((6*7))", "language": "bash"})
    assert result.structured_content is not None and result.structured_content["stdout"] == "42\n"
    assert (tmp_path / "r.jsonl").read_text().count("\n") == 1


async def _served_url(process: anyio.abc.Process) -> str:
    """The URL ``sandbox serve`` announces on stderr once its socket listens."""
    assert process.stderr is not None
    buffered = b""
    async for chunk in process.stderr:
        buffered += chunk
        for line in buffered.decode(errors="replace").splitlines():
            if "listening on " in line:
                return line.split("listening on ", 1)[1].strip()
    raise AssertionError(f"no URL announced: {buffered!r}")


async def test_the_http_server_runs_code_on_loopback(tmp_path: Path) -> None:
    argv = [_tdscaling(), "sandbox", "serve", "--transport", "http", "--port", "0"]
    with anyio.fail_after(60):
        async with await anyio.open_process(argv, stderr=subprocess.PIPE) as process:
            try:
                url = await _served_url(process)
                assert url.startswith("http://127.0.0.1:"), url
                async with Client(url) as client:
                    result = await client.call_tool("execute_code", {"code": "print('over http')"})
            finally:
                process.terminate()
                await process.wait()
    assert result.structured_content is not None and result.structured_content["stdout"] == "over http\n"


async def test_the_http_sandbox_on_another_loopback_address_needs_its_token_and_refuses_a_rebound_host(
        tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    argv = [_tdscaling(), "sandbox", "serve", "--transport", "http", "--port", "0", "--host", "127.0.0.2",
            "--record", str(record)]
    execute = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "execute_code", "arguments": {"code": "print('ran')"}}}
    modern = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
              "MCP-Protocol-Version": "2026-07-28"}
    with anyio.fail_after(60):
        async with await anyio.open_process(argv, stderr=subprocess.PIPE, env={**os.environ,
                                                                               "TDSCALING_TOKEN": "s3cret"}) as process:
            try:
                url = await _served_url(process)
                assert url.startswith("http://127.0.0.2:"), url
                async with httpx2.AsyncClient() as h:
                    assert (await h.post(url, json=execute, headers=modern)).status_code == 401
                    rebound = await h.post(url, json=execute, headers={**modern, "Authorization": "Bearer s3cret",
                                                                        "Host": "evil.example.com"})
                    assert rebound.status_code == 421
                http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"})
                async with http, Client(streamable_http_client(url, http_client=http)) as client:
                    result = await client.call_tool("execute_code", {"code": "print('with the token')"})
            finally:
                process.terminate()
                await process.wait()
    assert result.structured_content is not None and result.structured_content["stdout"] == "with the token\n"
    assert record.read_text().count("\n") == 1  # only the call with the token ran


@pytest.mark.parametrize("blinding", [
    "import os\nos.close(1)\nos.close(2)",
    "import os\nos.dup2(os.open('/dev/null', os.O_WRONLY), 1)",
    "import sys\nsys.stdout.close()",
])
async def test_a_persistent_cell_that_blinds_its_session_is_detected_and_the_interpreter_restarted(
        tmp_path: Path, blinding: str) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:

        async def cell(code: str) -> dict[str, object]:
            result = await client.call_tool("execute_code", {"code": code, "persistent": True, "session_id": "b"})
            assert result.structured_content is not None, result
            return result.structured_content

        assert (await cell("kept = 41"))["interpreter_restarted"] is False
        blinded = await cell(blinding)
        assert blinded["interpreter_restarted"] is True
        assert "closed or replaced stdout/stderr" in str(blinded["stderr"])
        after = await cell("print('visible again', 'kept' in globals())\nimport sys\nprint('err', file=sys.stderr)")
    assert after["stdout"] == "visible again False\n" and after["stderr"] == "err\n"
    assert after["exit_code"] == 0 and after["interpreter_restarted"] is False
