"""The security contract: each test names an escape and shows it fails (strong backends only).

They run on this machine's local backend (bubblewrap) and on Docker where an engine exists; a local
backend weaker than 'strong' fails them rather than skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from tdscaling.sandbox import SandboxUsageError, WorkspacePathError

pytestmark = pytest.mark.anyio
OpenSandbox = Callable[..., Any]


async def test_an_outbound_connection_to_a_host_loopback_server_fails(open_for: OpenSandbox, strong_id: str) -> None:
    accepted: list[object] = []
    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, accepted.append)
            async with open_for(strong_id, strong=True) as sandbox:
                result = await sandbox.execute(
                    "import socket\n"
                    "try:\n"
                    f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                    "    print('CONNECTED')\n"
                    "except OSError as e:\n"
                    "    print('blocked', e.errno)\n"
                )
            tg.cancel_scope.cancel()
    assert result.stdout.startswith("blocked"), result
    assert accepted == []


async def test_a_host_unix_socket_cannot_be_reached(open_for: OpenSandbox, strong_id: str) -> None:
    path = f"/tmp/tdscaling-test-{uuid.uuid4().hex[:8]}.sock"  # a place sandboxed code could guess
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(path)
        server.listen()
        async with open_for(strong_id, strong=True) as sandbox:
            result = await sandbox.execute(
                "import socket\n"
                "try:\n"
                "    s = socket.socket(socket.AF_UNIX)\n"
                f"    s.connect({path!r})\n"
                "    print('CONNECTED')\n"
                "except OSError as e:\n"
                "    print('blocked', e.errno)\n"
            )
    finally:
        server.close()
        os.unlink(path)
    assert result.stdout.startswith("blocked"), result


async def test_dns_resolution_fails(open_for: OpenSandbox, strong_id: str) -> None:
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            "import socket\n"
            "for name in ('example.com', 'pypi.org'):\n"
            "    try:\n"
            "        print('RESOLVED', socket.getaddrinfo(name, 443))\n"
            "    except OSError as e:\n"
            "        print('failed', name)\n"
        )
    assert result.stdout == "failed example.com\nfailed pypi.org\n", result


async def test_a_secret_in_the_server_environment_is_unreadable_also_via_proc(
    open_for: OpenSandbox, strong_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("TDSCALING_TEST_API_KEY", secret)
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            "import os, glob\n"
            "print(dict(os.environ))\n"
            "readable = 0\n"
            "for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
            "    try:\n"
            "        print(path, open(path, 'rb').read()); readable += 1\n"
            "    except OSError:\n"
            "        pass\n"
            "print('READABLE', readable)\n"
        )
    assert "READABLE" in result.stdout and "/proc/1/environ" in result.stdout  # the probe really looked
    assert secret not in result.stdout + result.stderr


async def test_a_secret_file_outside_the_workspace_is_unreadable(
    open_for: OpenSandbox, strong_id: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret = f"s3cret-{uuid.uuid4().hex}"
    secret_file.write_text(secret)
    secret_file.chmod(0o644)
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            f"paths = [{str(secret_file)!r}, '/proc/1/root' + {str(secret_file)!r}]\n"
            "for path in [*paths, '/etc/shadow', '/root/.bashrc']:\n"
            "    try:\n"
            "        print('READ', path, open(path).read())\n"
            "    except OSError as e:\n"
            "        print('denied', path, e.errno)\n"
        )
    assert secret not in result.stdout
    assert result.stdout.count("denied") == 4, result


async def test_writing_outside_the_workspace_fails(open_for: OpenSandbox, strong_id: str, tmp_path: Path) -> None:
    host_target = tmp_path / "planted.txt"
    tmp_name = f"/tmp/tdscaling-planted-{uuid.uuid4().hex[:8]}"
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            f"paths = [{str(host_target)!r}, '/usr/planted', '/etc/planted']\n"
            "for path in [*paths, '/planted', '/workspace/../planted']:\n"
            "    try:\n"
            "        open(path, 'w').write('x'); print('WROTE', path)\n"
            "    except OSError as e:\n"
            "        print('denied', path, e.errno)\n"
            f"open({tmp_name!r}, 'w').write('private tmp is fine')\n"
        )
    assert "WROTE" not in result.stdout, result
    assert result.exit_code == 0
    assert not host_target.exists()
    assert not Path(tmp_name).exists()  # noqa: ASYNC240 - the sandbox's /tmp is its own


async def test_no_capabilities_are_left_inside(open_for: OpenSandbox, strong_id: str) -> None:
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            "import os\n"
            "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
            "print(status['CapEff'].strip(), status['CapPrm'].strip(), status['CapBnd'].strip(), os.getuid())\n"
        )
    cap_eff, cap_prm, cap_bnd, uid = result.stdout.split()
    assert int(cap_eff, 16) == 0 and int(cap_prm, 16) == 0 and int(cap_bnd, 16) == 0
    assert uid != "0"


async def test_a_bounded_fork_bomb_is_contained_and_leaves_nothing_behind(
    open_for: OpenSandbox, strong_id: str, processes_with: Callable[[str], list[int]]
) -> None:
    marker = f"forkbomb-{uuid.uuid4().hex[:8]}"
    async with open_for(strong_id, strong=True, max_procs=16) as sandbox:
        result = await sandbox.execute(
            "import os\n"
            "made = 0\n"
            "for _ in range(200):\n"
            "    try:\n"
            "        pid = os.fork()\n"
            "    except OSError:\n"
            "        continue\n"
            "    if pid == 0:\n"
            f"        os.execv('/bin/sleep', [{marker!r}, '600'])\n"
            "    made += 1\n"
            "print('MADE', made)\n",
            timeout_s=5,
        )
        assert processes_with(marker) == []
    made = int(result.stdout.split()[1])
    assert 0 < made < 16, result
    assert result.limit == "processes"


async def test_a_memory_bomb_ends_with_a_clear_memory_limit_result(open_for: OpenSandbox, strong_id: str) -> None:
    async with open_for(strong_id, strong=True, memory_mb=64) as sandbox:
        result = await sandbox.execute("hog = []\nwhile True:\n    hog.append(b'x' * (1 << 20))\n")
    assert result.limit == "memory", result
    assert result.exit_code != 0 and not result.timed_out
    assert "memory limit of 64 MB" in result.stderr


async def test_an_infinite_loop_ends_at_the_timeout_with_timed_out(open_for: OpenSandbox, strong_id: str) -> None:
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute("while True:\n    pass\n", timeout_s=1.0)
    assert result.timed_out and result.limit == "time"
    assert result.duration_ms < 4000


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def test_100_mb_of_output_comes_back_truncated_with_bounded_server_memory(
    open_for: OpenSandbox, strong_id: str
) -> None:
    async with open_for(strong_id, strong=True) as sandbox:
        await sandbox.execute("pass")  # warm up imports and buffers before measuring
        Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 - resets this process's peak RSS
        before = _peak_rss_kb()
        result = await sandbox.execute(
            "import sys\nchunk = 'y' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\n"
        )
        growth_kb = _peak_rss_kb() - before
    assert result.truncated and len(result.stdout) == 64 * 1024
    assert "104792064 bytes dropped" in result.stderr  # 100 MiB - 64 KiB: everything was read, then dropped
    assert growth_kb < 20 * 1024, f"server peak RSS grew by {growth_kb} KiB"


async def test_a_background_or_daemonized_process_is_gone_when_the_call_returns(
    open_for: OpenSandbox, strong_id: str, processes_with: Callable[[str], list[int]]
) -> None:
    marker = f"daemon-{uuid.uuid4().hex[:8]}"
    async with open_for(strong_id, strong=True) as sandbox:
        result = await sandbox.execute(
            f"(exec -a {marker}-bg sleep 600) &\n"
            f"setsid bash -c '(exec -a {marker}-setsid sleep 600) &' < /dev/null > /dev/null 2>&1\n"
            f"nohup bash -c 'exec -a {marker}-nohup sleep 600' > /dev/null 2>&1 &\n"
            f"until [ \"$(pgrep -fc '^{marker}-')\" -ge 3 ]; do :; done\n"
            "echo all-three-running\n",
            language="bash",
            timeout_s=5,
        )
        assert result.stdout == "all-three-running\n", result  # they ran inside before the call ended
        assert processes_with(marker) == []


async def test_one_session_cannot_read_another_sessions_files(open_for: OpenSandbox, strong_id: str) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    async with open_for(strong_id, strong=True) as sandbox:
        await sandbox.write_file("private.txt", secret, session_id="alice")
        result = await sandbox.execute(
            "import os\n"
            "found = [os.path.join(d, 'private.txt') for d, dirs, files in os.walk('/') if 'private.txt' in files\n"
            "         and not d.startswith(('/proc', '/sys'))]\n"
            "for path in ['../alice/private.txt', '/workspace/../alice/private.txt', *found]:\n"
            "    try:\n"
            "        print('READ', path, open(path).read())\n"
            "    except OSError as e:\n"
            "        print('denied', path)\n"
            "print(os.listdir('..'))\n",
            session_id="bob",
        )
        with pytest.raises(WorkspacePathError):
            await sandbox.read_file("../alice/private.txt", session_id="bob")
    assert secret not in result.stdout, result
    assert "alice" not in result.stdout.splitlines()[-1], result


async def test_path_traversal_and_symlinks_out_are_refused_by_the_file_tools(
    open_for: OpenSandbox, strong_id: str
) -> None:
    async with open_for(strong_id, strong=True) as sandbox:
        planted = await sandbox.execute(
            "import os\nos.symlink('/etc/passwd', 'link')\nos.symlink('/etc', 'dirlink')\n", session_id="t"
        )
        assert planted.exit_code == 0
        for path in ["../x", "/etc/passwd", "a/../../x", "link", "dirlink/passwd", "./../../etc/passwd"]:
            with pytest.raises(WorkspacePathError):
                await sandbox.read_file(path, session_id="t")
        for path in ["../escape.txt", "/tmp/escape.txt", "dirlink/escape", "link"]:
            with pytest.raises(WorkspacePathError):
                await sandbox.write_file(path, "x", session_id="t")
        files, _ = await sandbox.list_files(session_id="t")
    assert {(f.path, f.kind) for f in files} == {("link", "symlink"), ("dirlink", "symlink")}


async def test_a_program_cannot_fill_more_than_the_workspace_cap_and_a_reset_frees_it(
    open_for: OpenSandbox, strong_id: str
) -> None:
    fill = (
        "import os\n"
        "written = 0\n"
        "try:\n"
        "    for i in range(64):\n"
        "        with open(f'fill{i}.bin', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "        written += 1 << 20\n"
        "except OSError as e:\n"
        "    print('stopped', e.errno, written)\n"
    )
    async with open_for(strong_id, strong=True, workspace_mb=8) as sandbox:
        result = await sandbox.execute(fill, session_id="fill")
        stopped, errno, written = result.stdout.split()
        assert (stopped, int(errno)) == ("stopped", 28), result  # ENOSPC at the cap, not 64 MiB later
        assert int(written) <= 8 << 20
        with pytest.raises(SandboxUsageError, match="workspace is full"):
            await sandbox.write_file("more.txt", "y" * (2 << 20), session_id="fill")
        files, _ = await sandbox.list_files(session_id="fill")
        assert "more.txt" not in {f.path for f in files}  # nothing half-written is left
        await sandbox.reset_session("fill")
        again = await sandbox.execute(fill, session_id="fill")
        assert again.stdout.split()[0] == "stopped" and int(again.stdout.split()[2]) >= 6 << 20
