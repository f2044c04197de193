from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tdscaling.servers import Catalog, DomainSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "servers" / "domains" / "online_store.json"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def domains(catalog: Catalog) -> dict[str, DomainSpec]:
    return {d.name: d for d in catalog}


@pytest.fixture
def example_domain() -> dict[str, Any]:
    """The online_store domain as plain JSON data, to break in tests."""
    return json.loads(EXAMPLE.read_text())


CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli() -> CliRunner:
    """Run the real ``tdscaling`` command in a subprocess, as a user does."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True,
                              cwd=cwd, timeout=300)

    return run


# --- runtime tests: valid arguments built from a tool's schema and the seeded data ------------------------
class ArgMaker:
    """Builds arguments a tool should accept, from its ToolSpec and the rows of a runtime's store.

    Each call to ``candidates`` returns a few argument sets (different records), so a test can try the
    next when one record happens to be blocked by another rule (an open order, a full room).
    """

    def __init__(self, runtime: Any, catalog: Catalog) -> None:
        from tdscaling.servers import tool_spec

        self.rt = runtime
        self.catalog = catalog
        self.specs = {}
        policies: dict[str, list[Any]] = {}
        for p in runtime.cluster.policies:
            policies.setdefault(p.tool, []).append(p.precondition)
        for t in runtime.cluster.tools:
            d = catalog.get(t.domain)
            spec = tool_spec(d, d.operation(t.operation))
            self.specs[t.name] = (d, spec, [*spec.preconditions, *policies.get(t.name, [])])
        self.counter = 0

    def rows(self, domain: str, entity: str) -> list[dict[str, Any]]:
        return self.rt.store.rows(f"{domain}__{entity}")

    def _state_ok(self, d: DomainSpec, entity: str, row: dict[str, Any], states: Any) -> bool:
        sm = d.entities[entity].state_machine
        return states is None or sm is None or row.get(sm.field) in states

    def _scalar(self, d: DomainSpec, spec: Any, p: Any) -> Any:
        from tdscaling.servers import ANCHOR

        self.counter += 1
        f = d.entities[spec.entity].fields.get(p.field or "") if p.field else None
        if p.type == "enum":
            return (p.values or ("",))[0]
        if p.type == "string":
            if "email" in p.name:
                return f"test.user{self.counter}@example.org"
            return f"Test {p.name.replace('_', ' ')} {self.counter}"
        if p.type == "boolean":
            return True
        if p.type == "date":
            return ANCHOR.isoformat()
        if p.type == "datetime":
            return f"{ANCHOR.isoformat()}T10:00:00"
        lo = p.minimum if p.minimum is not None else (f.min if f is not None and f.min is not None else 0)
        hi = p.maximum if p.maximum is not None else (f.max if f is not None and f.max is not None else lo + 100)
        v = max(lo, min(1, hi)) if p.role != "amount" else 1
        return int(v) if p.type == "integer" else float(v)

    def candidates(self, name: str, n: int = 6) -> list[dict[str, Any]]:
        d, spec, pres = self.specs[name]
        state_need: dict[str, list[str]] = {}
        for pre in pres:
            if pre.kind == "ref_state":
                state_need[pre.param] = list(pre.states)
        target_states: set[str] | None = set(spec.source_states) if spec.source_states else None
        for pre in pres:
            if pre.kind == "state":
                target_states = set(pre.states) & target_states if target_states is not None else set(pre.states)
        blocked: set[str] = set()
        for pre in pres:
            if pre.kind == "no_dependents":
                sm = d.entities[pre.entity].state_machine
                for r in self.rows(d.name, pre.entity):
                    if sm and r.get(sm.field) in pre.states:
                        blocked.add(r.get(pre.ref_field))
        out = []
        for i in range(n):
            args: dict[str, Any] = {}
            for p in spec.inputs:
                if p.role in ("filter", "range_min", "range_max", "page"):
                    continue
                if p.role == "choice":
                    args[p.name] = "count" if p.name == "function" else (p.values or ("",))[0]
                elif p.type == "ref" and p.ref:
                    states = target_states if p.role == "id" and p.ref == spec.entity else state_need.get(p.name)
                    rows = [r for r in self.rows(d.name, p.ref) if self._state_ok(d, p.ref, r, states)
                            and not (p.role == "id" and r["id"] in blocked)]
                    if spec.kind == "transfer":
                        q = spec.param("amount").field
                        rows = [r for r in self.rows(d.name, p.ref) if self._state_ok(d, p.ref, r, target_states)]
                        rows.sort(key=lambda r: -(r.get(q) or 0))
                        rows = rows[:1] if p.name.startswith("from_") else rows[1 + i:]
                    for pre in pres:  # a record with the most of what a rule consumes
                        if pre.kind == "sufficient" and pre.param == p.name:
                            rows.sort(key=lambda r, f=pre.field: -(r.get(f) or 0))
                    if rows:
                        args[p.name] = rows[i % len(rows)]["id"] if spec.kind != "transfer" else rows[0]["id"]
                    elif p.required:
                        args[p.name] = f"{d.entities[p.ref].id_prefix}-000001"
                else:
                    args[p.name] = self._scalar(d, spec, p)
            self._fit_compares(d, spec, pres, args)
            out.append(args)
        return out

    def _fit_compares(self, d: DomainSpec, spec: Any, pres: list[Any], args: dict[str, Any]) -> None:
        for pre in pres:
            if pre.kind != "compare" or pre.param not in args:
                continue
            bound = pre.value
            if pre.ref_param is not None:
                ref = spec.param(pre.ref_param)
                row = next((r for r in self.rows(d.name, ref.ref) if r["id"] == args.get(pre.ref_param)), None)
                bound = row.get(pre.field) if row else None
            if bound is None:
                continue
            p = spec.param(pre.param)
            cur = args[pre.param]
            ok = {"<": cur < bound, "<=": cur <= bound, ">": cur > bound, ">=": cur >= bound, "==": cur == bound,
                  "!=": cur != bound}[pre.op]
            if ok:
                continue
            step = 1 if p.type == "integer" else 0.01
            v = {"<": bound - step, ">": bound + step, "!=": bound + step}.get(pre.op, bound)
            args[pre.param] = int(v) if p.type == "integer" else round(float(v), 2)


@pytest.fixture(scope="session")
def templates() -> Any:
    from tdscaling.servers import Templates

    return Templates()


@pytest.fixture
def arg_maker(catalog: Catalog) -> Callable[[Any], ArgMaker]:
    return lambda runtime: ArgMaker(runtime, catalog)


# --- serve tests: the real ``tdscaling serve`` in a subprocess ---------------------------------------------
def tdscaling_command() -> list[str]:
    script = Path(sys.executable).parent / "tdscaling"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tdscaling.synth"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Callable[..., Any]:
    """``async with http_server(*serve_args) as (url, proc)``: a served cluster, up and answering."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(*args: str, port: int | None = None) -> Any:
        import anyio
        import httpx2

        port = port or free_port()
        log_path = tmp_path / f"serve-{port}.log"
        with log_path.open("w") as log:
            proc = await anyio.open_process(
                [*tdscaling_command(), "serve", *args, "--transport", "http", "--port", str(port)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
        url = f"http://{host}:{port}/mcp"
        try:
            with anyio.fail_after(60):
                async with httpx2.AsyncClient() as h:
                    while True:
                        assert proc.returncode is None, log_path.read_text()
                        try:
                            await h.get(url)
                            break
                        except httpx2.TransportError:
                            await anyio.sleep(0.05)  # polling for the port, bounded by fail_after
            yield url, proc
        finally:
            if proc.returncode is None:
                proc.terminate()
            with anyio.move_on_after(15, shield=True):
                await proc.wait()
            await proc.aclose()

    return start


@pytest.fixture
def serve_command() -> list[str]:
    """The ``tdscaling`` command of this installation, as an argv prefix."""
    return tdscaling_command()
