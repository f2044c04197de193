"""``tdscaling serve`` / ``claude-config`` at the command line: configs that work, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client, StdioServerParameters

from tdscaling.servers import Catalog, domain_cluster

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def test_claude_config_prints_absolute_commands_and_database_paths(cli: Any, tmp_path: Path) -> None:
    r = cli("claude-config", "online_store", "clinic", "--db-dir", str(tmp_path / "dbs"))
    assert r.returncode == 0, r.stderr
    servers = json.loads(r.stdout)["mcpServers"]
    assert set(servers) == {"tdscaling-online_store", "tdscaling-clinic"}
    for entry in servers.values():
        assert Path(entry["command"]).is_absolute() and os.access(entry["command"], os.X_OK)
        assert entry["args"][0] == "serve" and entry["args"][2] == "--db"
        assert Path(entry["args"][3]).is_absolute() and Path(entry["args"][3]).parent == tmp_path / "dbs"


async def test_the_printed_config_starts_a_server_a_client_can_use(cli: Any, tmp_path: Path) -> None:
    entry = json.loads(cli("claude-config", "online_store", "--db-dir", str(tmp_path)).stdout)["mcpServers"][
        "tdscaling-online_store"]
    async with Client(StdioServerParameters(command=entry["command"], args=entry["args"], env=dict(os.environ))) as c:
        assert not (await c.call_tool("get_product", {"product_id": "PRD-000001"})).is_error
    assert await anyio.Path(entry["args"][3]).is_file()


def test_the_example_claude_desktop_config_is_valid_and_names_a_real_domain(catalog: Catalog) -> None:
    config = json.loads((ROOT / "examples" / "claude_desktop_config.json").read_text())
    for entry in config["mcpServers"].values():
        assert entry["args"][0] == "serve" and entry["args"][1] in catalog


@pytest.mark.parametrize(("args", "needles"), [
    (["serve", "no_such_domain"], ["unknown cluster 'no_such_domain'", "online_store"]),
    (["serve", "missing/cluster.json"], ["missing/cluster.json", "no such cluster file"]),
    (["serve", "cl-0000", "--clusters", "nowhere.jsonl"], ["nowhere.jsonl"]),
    (["claude-config", "no_such_domain"], ["unknown cluster", "clinic"]),
    (["serve", "online_store", "--catalog", "not-a-dir"], ["not-a-dir", "directory"]),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(cli: Any, tmp_path: Path, args: list[str],
                                                          needles: list[str]) -> None:
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for n in needles:
        assert n in r.stderr


async def test_a_cluster_can_come_from_a_spec_file_or_a_clusters_file(catalog: Catalog, tmp_path: Path,
                                                                        serve_command: list[str]) -> None:
    spec = domain_cluster(catalog.get("clinic"))
    (tmp_path / "clinic.json").write_text(spec.model_dump_json())
    (tmp_path / "clusters.jsonl").write_text(domain_cluster(catalog.get("hotel")).model_dump_json() + "\n"
                                             + spec.model_dump_json() + "\n")
    for args in (["serve", str(tmp_path / "clinic.json")], ["serve", spec.id, "--clusters",
                                                             str(tmp_path / "clusters.jsonl")]):
        params = StdioServerParameters(command=serve_command[0], args=[*serve_command[1:], *args, "--db", ":memory:"],
                                       env=dict(os.environ))
        async with Client(params) as c:
            assert {t.name for t in (await c.list_tools()).tools} == set(spec.tool_names())


def _inspector() -> Path | None:
    base = os.environ.get("TDSCALING_INSPECTOR_DIR") or str(Path.home() / ".cache" / "tdscaling" / "inspector")
    binary = Path(base) / "node_modules" / ".bin" / "inspector"
    return binary if binary.is_file() and shutil.which("node") else None


def test_the_official_mcp_inspector_lists_and_calls_a_served_cluster_over_stdio(
        tmp_path: Path, serve_command: list[str]) -> None:
    binary = _inspector()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("the MCP Inspector is missing; .ci/system-deps installs it")
        pytest.skip("the MCP Inspector is not installed (run .ci/system-deps, or set TDSCALING_INSPECTOR_DIR)")
    env = {**os.environ, "HOME": str(tmp_path)}
    target = [*serve_command, "serve", "online_store", "--db", ":memory:"]

    def run(*method: str) -> dict[str, Any]:
        r = subprocess.run([str(binary), "--cli", *target, *method], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return dict(json.loads(r.stdout))

    listed = run("--method", "tools/list")
    assert "place_order" in {t["name"] for t in listed["tools"]}
    called = run("--method", "tools/call", "--tool-name", "get_order", "--tool-arg", "order_id=ORD-000001",
                 "--format", "json")
    assert called["result"]["structuredContent"]["id"] == "ORD-000001"


def test_a_database_file_holding_another_world_is_refused_not_reused(
        catalog: Catalog, tmp_path: Path, example_domain: dict[str, Any], cli: Any) -> None:
    from tdscaling.servers import ClusterRuntime, SpecError

    db = tmp_path / "world.sqlite3"
    shop = domain_cluster(catalog.get("online_store"))
    ClusterRuntime(shop, catalog, db=db).close()
    again = ClusterRuntime(shop, catalog, db=db)  # the same world opens again
    assert not again.call("get_order", {"order_id": "ORD-000001"}).is_error
    again.close()
    example_domain["entities"]["customer"]["fields"]["nickname"] = {"type": "string", "required": False}
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "online_store.json").write_text(json.dumps(example_domain))
    changed = Catalog.load([tmp_path / "cat"])
    held = f"{db} holds another world (cluster {shop.id}, seed 0, rows default"
    for cluster, cat, options in ((domain_cluster(catalog.get("clinic")), catalog, {}), (shop, catalog, {"seed": 1}),
                                  (shop, catalog, {"rows": 5}), (domain_cluster(changed.get("online_store")), changed,
                                                                  {})):
        with pytest.raises(SpecError) as err:
            ClusterRuntime(cluster, cat, db=db, **options)
        assert str(err.value).startswith(held) and str(err.value).endswith("; delete it or pass another --db")
    r = cli("serve", "clinic", "--db", str(db))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and held in r.stderr, r.stderr


def test_the_default_database_is_named_after_the_cluster_and_lives_in_the_data_directory(
        catalog: Catalog, tmp_path: Path, serve_command: list[str]) -> None:
    spec = domain_cluster(catalog.get("clinic")).model_copy(update={"origin": "generated"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mine.json").write_text(spec.model_dump_json())
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    for extra in ([], ["--seed", "3", "--rows", "5"]):
        r = subprocess.run([*serve_command, "serve", str(tmp_path / "in" / "mine.json"), *extra], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "data" / "tdscaling").iterdir() if p.suffix == ".sqlite3") == [
        f"{spec.id}-0.sqlite3", f"{spec.id}-3-rows5.sqlite3"]
    assert os.listdir(tmp_path / "in") == ["mine.json"]


EDGE_CASES: list[tuple[str, list[str], str]] = [
    ("a catalog file that is not UTF-8", ["domains", "list", "--catalog", "{tmp}/latin"], "not UTF-8 text"),
    ("a cluster file that is not UTF-8", ["clusters", "stats", "{tmp}/latin.jsonl"], "line 1: not UTF-8 text"),
    ("an output path that is a directory", ["clusters", "generate", "-n", "3", "-o", "{tmp}/out"], "is a directory"),
    ("an output path that cannot be written", ["clusters", "generate", "-n", "3", "-o", "/proc/x.jsonl"],
     "cannot write the cluster file"),
    ("an unknown log level", ["serve", "online_store", "--log-level", "nonsense"], "--log-level"),
    ("a port out of range", ["serve", "online_store", "--transport", "http", "--port", "70000"], "--port"),
    ("a database file that is not a database", ["serve", "online_store", "--db", "{tmp}/notadb.sqlite3"],
     "notadb.sqlite3: not a tdscaling database"),
    ("a database path that cannot be opened", ["serve", "online_store", "--db", "/proc/x.sqlite3"],
     "--db /proc/x.sqlite3: /proc does not take new files"),
    ("a database path under a file", ["serve", "online_store", "--db", "{tmp}/notadb.sqlite3/x.sqlite3"],
     "notadb.sqlite3 is a file, not a directory"),
    ("a database path that is a directory", ["serve", "online_store", "--db", "{tmp}/out"],
     "is a directory; --db takes a file"),
]


@pytest.mark.parametrize(("case", "args", "needle"), EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_a_bad_file_or_flag_exits_2_without_a_traceback_or_leftovers(
        cli: Any, tmp_path: Path, case: str, args: list[str], needle: str) -> None:
    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / "shop.json").write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    (tmp_path / "latin.jsonl").write_bytes(b"\xff\xfe{}\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "notadb.sqlite3").write_bytes(b"these are not the pages of a SQLite database" * 20)
    r = cli(*[a.format(tmp=tmp_path) for a in args], cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and needle in r.stderr, r.stderr
    if not needle.startswith("--"):  # typer prints its own usage box for a bad flag
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list(tmp_path.rglob("*.part")) == [] and list((tmp_path / "out").iterdir()) == []


def test_a_cluster_file_writer_never_leaves_a_part_file(catalog: Catalog, tmp_path: Path) -> None:
    from tdscaling.servers import SpecError
    from tdscaling.servers._cluster_io import ClusterFileWriter

    target = tmp_path / "c.jsonl"
    with pytest.raises(SpecError, match="cannot write the cluster file"):
        with ClusterFileWriter(target) as out:
            out.write(domain_cluster(catalog.get("clinic")))
            target.mkdir()  # the rename at the end now fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl"] and target.is_dir()


async def _serve_once(serve_command: list[str], db: Path, *extra: str) -> tuple[int, int | None, str]:
    """A stdio server on ``db``: initialize, count the customers, close. (exit code, the count, stderr)"""
    async with await anyio.open_process([*serve_command, "serve", "online_store", "--db", str(db), *extra],
                                        stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        lines = BufferedByteReceiveStream(proc.stdout)
        total = None
        try:
            await proc.stdin.send(_SESSION)
            while total is None:
                message = json.loads(await lines.receive_until(b"\n", 1 << 20))
                if message.get("id") == 2:
                    total = int(message["result"]["structuredContent"]["total"])
        except (anyio.EndOfStream, anyio.IncompleteRead):
            pass  # it exited instead of answering: the code and stderr say why
        await proc.stdin.aclose()
        err = (await proc.stderr.receive(1 << 16)).decode() if await proc.wait() else ""
        return proc.returncode or 0, total, err


_SESSION = b"".join(json.dumps(m).encode() + b"\n" for m in [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "race", "version": "0"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "search_customers",
                                                                   "arguments": {"limit": 1}}},
])


async def _race(serve_command: list[str], db: Path, *worlds: list[str]) -> list[tuple[int, int | None, str]]:
    outcomes: list[tuple[int, int | None, str]] = []

    async def one(extra: list[str]) -> None:
        outcomes.append(await _serve_once(serve_command, db, *extra))

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for extra in worlds:
                tg.start_soon(one, extra)
    return outcomes


async def test_two_servers_started_at_once_on_a_new_database_both_serve_the_one_world(
        serve_command: list[str], tmp_path: Path) -> None:
    for attempt in range(3):  # the race is narrow: start the pair several times on a fresh file
        outcomes = await _race(serve_command, tmp_path / f"race-{attempt}.sqlite3", [], [])
        assert outcomes == [(0, 60, ""), (0, 60, "")]  # both serve the world seeded once: 60 customers


async def test_two_servers_racing_to_seed_different_worlds_into_a_new_database_leave_one_and_a_one_line_refusal(
        serve_command: list[str], tmp_path: Path) -> None:
    outcomes = sorted(await _race(serve_command, tmp_path / "race.sqlite3", ["--seed", "1"], ["--seed", "2"]))
    assert [(code, total) for code, total, _ in outcomes] == [(0, 60), (2, None)], outcomes
    refused = outcomes[1][2]
    assert "holds another world" in refused and len(refused.strip().splitlines()) == 1 and "Traceback" not in refused
