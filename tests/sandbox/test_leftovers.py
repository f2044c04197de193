"""What a sandbox killed with kill -9 leaves (temp root, workspace mounts, cgroups) is found and removed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio
import anyio.abc
import pytest
from mcp import Client

from tdscaling.sandbox import Limits, SandboxSettings, open_sandbox, remove_leftovers
from tdscaling.sandbox._cgroups import _own_bases
from tdscaling.sandbox._mounts import mounts_under

pytestmark = pytest.mark.anyio


def _tdscaling() -> str:
    return shutil.which("tdscaling") or str(Path(sys.executable).with_name("tdscaling"))


def _cgroups_of(pid: int) -> list[Path]:
    return [p for base in _own_bases() if base.is_dir() for p in base.iterdir()
            if p.name.startswith(f"tdscaling-sandbox-{pid}-")]


async def _announced_url(process: anyio.abc.Process) -> str:
    assert process.stderr is not None
    buffered = b""
    async for chunk in process.stderr:
        buffered += chunk
        if b"listening on " in buffered and buffered.endswith(b"\n"):
            return buffered.decode().split("listening on ", 1)[1].split()[0]
    raise AssertionError(buffered)


async def test_what_a_killed_sandbox_left_is_removed_and_a_live_ones_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host_tmp = tmp_path / "host-tmp"
    host_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(host_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(host_tmp))
    argv = [_tdscaling(), "sandbox", "serve", "--transport", "http", "--port", "0", "--timeout-s", "20"]
    with anyio.fail_after(60):
        async with await anyio.open_process(argv, stderr=subprocess.PIPE) as server:
            url = await _announced_url(server)
            async with Client(url) as client:
                for session, persistent in (("one", False), ("two", True)):  # a warm sandbox and a live worker
                    ran = await client.call_tool("execute_code", {"code": "open('f', 'w').write('x')",
                                                                  "session_id": session, "persistent": persistent})
                    assert ran.structured_content is not None and ran.structured_content["exit_code"] == 0
            server.kill()  # kill -9: nothing is cleaned up
            await server.wait()
    (dead_root,) = [p for p in host_tmp.iterdir() if p.name.startswith(f"tdscaling-sandbox-{server.pid}-")]
    assert len(mounts_under(dead_root)) == 2  # the two sessions' workspace tmpfs mounts
    assert _cgroups_of(server.pid), "the killed server left no cgroup to clean (the test would prove nothing)"
    settings = SandboxSettings(backend="local", limits=Limits(timeout_s=20), record_fsync=False)
    async with open_sandbox(settings) as live:
        await live.write_file("keep.txt", "live", session_id="live")
        removed = remove_leftovers()
        assert dead_root in removed and set(_cgroups_of(server.pid)) == set()
        assert not dead_root.exists() and mounts_under(host_tmp) == mounts_under(host_tmp / _live_root(host_tmp))
        assert await live.read_file("keep.txt", session_id="live") == "live"  # the live sandbox is untouched
        assert _cgroups_of(os.getpid())
    assert list(host_tmp.iterdir()) == []


def _live_root(host_tmp: Path) -> str:
    (root,) = [p.name for p in host_tmp.iterdir() if p.name.startswith(f"tdscaling-sandbox-{os.getpid()}-")]
    return root
