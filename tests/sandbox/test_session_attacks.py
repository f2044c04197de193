"""Session ids are names, never paths; removal works at any depth and never leaves the sandbox's root.

Each attack runs through the real sandbox (bubblewrap) and the real MCP SDK, with the host's temp
directory redirected to a folder of the test that holds a victim directory: whatever the attack, that
folder ends holding exactly the victim, unchanged.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tdscaling.sandbox import (
    Limits,
    LocalBackend,
    SandboxBrokenError,
    SandboxSettings,
    SandboxUsageError,
    build_sandbox_server,
)
from tdscaling.sandbox._remove import remove_tree
from tdscaling.sandbox._workspace import session_dir

pytestmark = pytest.mark.anyio

NOT_NAMES = [".", "..", "a/..", "../x", "..\\x", "/tmp", "/", "", "a" * 65, "default\n", "é", "a b", "a.b", ".hidden"]
TOOL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("execute_code", {"code": "import os\nprint(os.listdir('.'))\nopen('planted.txt', 'w').write('x')"}),
    ("write_file", {"path": "planted.txt", "content": "x"}),
    ("read_file", {"path": "victim/secret.txt"}),
    ("list_files", {}),
    ("reset_session", {}),
]
DEEP_TREE = ("import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
             "open('bottom.txt', 'w').write('x')\n")


@pytest.fixture
def host_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's stand-in for the host's temp directory (TMPDIR redirected), holding a private victim."""
    folder = tmp_path / "host-tmp"
    victim = folder / "victim"
    victim.mkdir(parents=True)
    (victim / "secret.txt").write_text("host data")
    (victim / "secret.txt").chmod(0o600)
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _untouched(host_tmp: Path) -> None:
    """Only the victim is left in the host temp directory, as it was (the sandbox's root went at exit)."""
    assert sorted(p.name for p in host_tmp.iterdir()) == ["victim"]
    assert [p.name for p in (host_tmp / "victim").iterdir()] == ["secret.txt"]
    assert (host_tmp / "victim" / "secret.txt").read_text() == "host data"


def _settings(tmp_path: Path) -> SandboxSettings:
    return SandboxSettings(backend="local", limits=Limits(timeout_s=20), record_path=tmp_path / "record.jsonl",
                           record_fsync=False)


async def test_a_session_id_that_is_not_a_name_is_refused_by_every_tool_and_nothing_is_touched(
        host_tmp: Path, tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        await client.call_tool("write_file", {"path": "mine.txt", "content": "kept", "session_id": "other"})
        for session_id in NOT_NAMES:
            for tool, arguments in TOOL_CALLS:
                result = await client.call_tool(tool, {**arguments, "session_id": session_id})
                text = result.content[0].text  # type: ignore[union-attr]
                assert result.is_error and "is invalid: a session id is a name" in text, (session_id, tool, text)
                assert "\n" not in text
        kept = await client.call_tool("read_file", {"path": "mine.txt", "session_id": "other"})
        assert kept.structured_content is not None and kept.structured_content["content"] == "kept"
    assert not (tmp_path / "record.jsonl").exists() or (tmp_path / "record.jsonl").read_text() == ""
    _untouched(host_tmp)


async def test_every_tool_publishes_the_session_id_pattern_in_its_schema(tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        field = tool.input_schema["properties"]["session_id"]
        assert field["pattern"] == "^[A-Za-z0-9_-]{1,64}$" and field["maxLength"] == 64, tool.name


async def test_a_backend_used_directly_refuses_a_session_id_that_is_a_path(host_tmp: Path, tmp_path: Path) -> None:
    async with LocalBackend(_settings(tmp_path)) as backend:
        for session_id in ("..", ".", "a/..", "/etc"):
            with pytest.raises(SandboxUsageError, match="is a name"):
                await backend.execute(session_id, "print(1)", language="python", timeout_s=5, persistent=False)
            with pytest.raises(SandboxUsageError, match="is a name"):
                await backend.write_file(session_id, "x.txt", b"x")
            with pytest.raises(SandboxUsageError, match="is a name"):
                await backend.close_session(session_id)
    _untouched(host_tmp)


async def test_a_file_path_that_names_or_leaves_the_workspace_is_refused_by_the_file_tools(
        host_tmp: Path, tmp_path: Path) -> None:
    paths = [".", "..", "a/..", "a/../..", "./..", "/", str(host_tmp / "victim" / "secret.txt"), "out/secret.txt",
             "out", "up/victim/secret.txt"]
    code = f"import os\nos.symlink({str(host_tmp / 'victim')!r}, 'out')\nos.symlink('..', 'up')\n"
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        await client.call_tool("execute_code", {"code": code, "session_id": "p"})
        for path in paths:
            read = await client.call_tool("read_file", {"path": path, "session_id": "p"})
            wrote = await client.call_tool("write_file", {"path": path, "content": "x", "session_id": "p"})
            assert read.is_error and wrote.is_error, path
    _untouched(host_tmp)


def test_a_session_directory_is_never_made_through_a_planted_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "planted").symlink_to(outside)
    with pytest.raises(SandboxBrokenError, match="planted"):
        session_dir(root, "planted")  # type: ignore[arg-type]
    with pytest.raises(SandboxUsageError):
        session_dir(root, "..")  # type: ignore[arg-type]
    assert session_dir(root, "fine") == root / "fine"  # type: ignore[arg-type]
    assert (root / "fine").is_dir() and list(outside.iterdir()) == []


async def test_symlinks_a_program_makes_are_listed_never_followed_and_reset_removes_only_the_links(
        host_tmp: Path, tmp_path: Path) -> None:
    victim = host_tmp / "victim"
    code = (f"import os\nos.symlink({str(victim)!r}, 'victim_link')\nos.symlink('/', 'slash')\n"
            f"os.symlink('..', 'up')\nos.mkdir('d')\nos.symlink({str(host_tmp)!r}, 'd/host_tmp')\n")
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        made = await client.call_tool("execute_code", {"code": code, "session_id": "s"})
        assert made.structured_content is not None and made.structured_content["exit_code"] == 0, made
        listed = await client.call_tool("list_files", {"session_id": "s"})
        assert listed.structured_content is not None
        assert {(f["path"], f["kind"]) for f in listed.structured_content["files"]} == {
            ("victim_link", "symlink"), ("slash", "symlink"), ("up", "symlink"), ("d", "dir"),
            ("d/host_tmp", "symlink")}
        for path in ("victim_link/secret.txt", "up/victim/secret.txt", "d/host_tmp/victim/secret.txt"):
            refused = await client.call_tool("read_file", {"path": path, "session_id": "s"})
            assert refused.is_error, path
        reset = await client.call_tool("reset_session", {"session_id": "s"})
        assert reset.structured_content == {"session_id": "s", "existed": True}
        assert (victim / "secret.txt").read_text() == "host data"
    _untouched(host_tmp)


def _sandbox_root(host_tmp: Path) -> Path:
    (root,) = [p for p in host_tmp.iterdir() if p.name.startswith("tdscaling-sandbox-")]
    return root


async def test_a_3000_deep_tree_is_listed_reset_and_removed_at_exit_without_an_error(
        host_tmp: Path, tmp_path: Path) -> None:
    async with Client(build_sandbox_server(_settings(tmp_path))) as client:
        made = await client.call_tool("execute_code", {"code": DEEP_TREE, "session_id": "deep"})
        assert made.structured_content is not None and made.structured_content["exit_code"] == 0, made
        listed = await client.call_tool("list_files", {"session_id": "deep"})
        assert not listed.is_error and listed.structured_content is not None
        assert listed.structured_content["truncated"] is True
        assert listed.structured_content["files"][-1]["path"] == "/".join(["d"] * 64)
        reset = await client.call_tool("reset_session", {"session_id": "deep"})
        assert reset.structured_content == {"session_id": "deep", "existed": True}
        assert list(_sandbox_root(host_tmp).iterdir()) == []  # the tree is gone from the disk
        again = await client.call_tool("execute_code", {"code": DEEP_TREE, "session_id": "left-at-exit"})
        assert again.structured_content is not None and again.structured_content["exit_code"] == 0
    _untouched(host_tmp)


def test_removing_a_deep_tree_with_locked_directories_and_links_out_deletes_only_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    tree = tmp_path / "root" / "tree"
    tree.mkdir(parents=True)
    fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(5000):  # deeper than PATH_MAX allows as one path, and than the recursion limit
            os.mkdir("d", dir_fd=fd)
            os.symlink(str(outside), "out", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.fchmod(fd, 0)  # a locked directory at the bottom
    finally:
        os.close(fd)
    assert remove_tree(tmp_path / "root", "tree") is True
    assert list((tmp_path / "root").iterdir()) == []
    assert (outside / "keep.txt").read_text() == "keep"
    assert remove_tree(tmp_path / "root", "tree") is False


async def test_a_stdio_server_exits_cleanly_with_a_deep_tree_left_in_a_session(host_tmp: Path, tmp_path: Path) -> None:
    from shutil import which

    command = which("tdscaling") or str(Path(os.sys.executable).with_name("tdscaling"))
    params = StdioServerParameters(command=command, args=["sandbox", "serve", "--timeout-s", "20"],
                                   env={**os.environ, "TMPDIR": str(host_tmp)})
    errors = tmp_path / "stderr.log"
    with errors.open("w") as errlog, anyio.fail_after(90):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            made = await client.call_tool("execute_code", {"code": DEEP_TREE, "session_id": "deep"})
            assert made.structured_content is not None and made.structured_content["exit_code"] == 0
    log = errors.read_text()  # the client waited for the server to exit
    assert "Traceback" not in log and "RecursionError" not in log, log
    _untouched(host_tmp)
