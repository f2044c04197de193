"""The backend contract: every available backend behaves the same for ordinary programs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tdscaling.sandbox import SandboxUsageError, WorkspacePathError

OpenSandbox = Callable[..., Any]  # the open_for fixture (conftest)

pytestmark = pytest.mark.anyio


async def test_python_output_and_exit_code_come_back(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
    assert (result.stdout, result.exit_code) == ("out\n", 3)
    assert result.stderr.startswith("err\n")
    assert not result.timed_out and result.limit is None and result.record_id.startswith("exec-")


async def test_a_failing_program_is_a_result_not_an_exception(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute("raise ValueError('boom')")
    assert result.exit_code == 1
    assert "ValueError: boom" in result.stderr


async def test_bash_runs_in_the_workspace(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute("echo hi > f.txt; cat f.txt; exit 4", language="bash")
    assert (result.stdout, result.exit_code) == ("hi\n", 4)


async def test_files_persist_between_calls_and_meet_the_file_tools(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        await sandbox.write_file("data/in.txt", "21", session_id="s")
        first = await sandbox.execute(
            "open('out.txt', 'w').write(str(2 * int(open('data/in.txt').read())))", session_id="s"
        )
        second = await sandbox.execute("import helper_mod", session_id="s")
        assert first.exit_code == 0
        assert second.exit_code == 1  # not written yet: imports resolve in the workspace, shown next
        await sandbox.write_file("helper_mod.py", "print('imported')", session_id="s")
        third = await sandbox.execute("import helper_mod", session_id="s")
        assert third.stdout == "imported\n", third
        assert await sandbox.read_file("out.txt", session_id="s") == "42"
        files, truncated = await sandbox.list_files(session_id="s")
    assert {f.path for f in files} >= {"data", "data/in.txt", "out.txt", "helper_mod.py"}
    assert not truncated


async def test_reset_session_empties_the_workspace(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        await sandbox.write_file("keep.txt", "x", session_id="r")
        assert await sandbox.reset_session("r") is True
        files, _ = await sandbox.list_files(session_id="r")
    assert files == []


async def test_an_infinite_loop_ends_at_the_timeout(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute("while True:\n    pass", timeout_s=1.0)
    assert result.timed_out and result.limit == "time"
    assert 1000 <= result.duration_ms < 4000


async def test_output_past_the_cap_is_cut_and_marked(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id, output_kb=4) as sandbox:
        result = await sandbox.execute("print('x' * 100_000)")
    assert result.truncated and result.limit == "output"
    assert result.stdout == "x" * 4096
    assert result.exit_code == 0


async def test_the_environment_holds_only_path_home_and_lang(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute(
            "import os\nprint(sorted(k for k in os.environ if k not in ('PWD', 'SHLVL', '_')))"
        )
    assert result.stdout == "['HOME', 'LANG', 'PATH']\n"


async def test_stdin_is_empty(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        result = await sandbox.execute("import sys\nprint(repr(sys.stdin.read()))")
    assert result.stdout == "''\n"


async def test_misuse_raises_usage_errors_that_say_what_is_allowed(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        with pytest.raises(SandboxUsageError, match="session_id"):
            await sandbox.execute("pass", session_id="../x")
        with pytest.raises(SandboxUsageError, match="language"):
            await sandbox.execute("pass", language="ruby")
        with pytest.raises(SandboxUsageError, match="timeout_s"):
            await sandbox.execute("pass", timeout_s=10_000)
        with pytest.raises(WorkspacePathError, match="relative"):
            await sandbox.read_file("/etc/passwd")


async def test_a_prestarted_python_sees_files_written_after_it_started(open_for: OpenSandbox, backend_id: str) -> None:
    async with open_for(backend_id) as sandbox:
        first = await sandbox.execute("x = 1", session_id="w")  # leaves a warm interpreter behind (local)
        await sandbox.write_file("late.txt", "written later", session_id="w")
        second = await sandbox.execute("print(open('late.txt').read())", session_id="w", timeout_s=1)
    assert first.exit_code == 0
    assert second.stdout == "written later\n"
    assert second.duration_ms < 1000
