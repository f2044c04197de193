"""``tdscaling sandbox ...``: serve the sandbox over MCP, check the host's isolation, run one file.

Each command parses its flags (typed, with their bounds: a bad value is one line and exit 2), calls one public
function (``serve_sandbox``, ``plan_backend``, ``run_code``) and shows the result. Heavy imports (mcp, docker)
stay inside the command bodies so ``tdscaling --help`` stays fast; the environment is read here and nowhere
else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from tdscaling.common import add_commands, fail, usage_errors

if TYPE_CHECKING:
    from tdscaling.sandbox import SandboxServing, SandboxSettings

BackendOpt = Annotated[Literal["auto", "local", "docker"], typer.Option(
    "--backend", help="auto (Docker if reachable, else local), local or docker")]
RequireOpt = Annotated[Literal["none", "weak", "strong"], typer.Option(
    "--require-isolation", help="refuse to start below: none, weak or strong")]
TimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout-s", metavar="SECONDS", min=0.001, max=3600, help="wall-clock limit per run [30]", show_default=False)]
MemoryOpt = Annotated[int | None, typer.Option(
    "--memory-mb", metavar="MB", min=16, max=1 << 20, help="memory of a run's process tree [512]",
    show_default=False)]
ProcsOpt = Annotated[int | None, typer.Option(
    "--max-procs", metavar="N", min=1, max=4096, help="processes and threads at once [64]", show_default=False)]
OutputOpt = Annotated[int | None, typer.Option(
    "--output-kb", metavar="KIB", min=1, max=1 << 16, help="cap on stdout and on stderr each [64]",
    show_default=False)]
WorkspaceMbOpt = Annotated[int | None, typer.Option(
    "--workspace-mb", metavar="MB", min=1, max=1 << 20,
    help="size cap of each session's workspace, where the host allows it [256]", show_default=False)]


def _settings(*, backend: str, require_isolation: str, record: Path | None = None, timeout_s: float | None = None,
              memory_mb: int | None = None, max_procs: int | None = None, output_kb: int | None = None,
              workspace: Path | None = None, workspace_mb: int | None = None) -> SandboxSettings:
    from pydantic import ValidationError

    from tdscaling.common import check_output_dir, check_output_file
    from tdscaling.sandbox import Limits, SandboxSettings

    with usage_errors():  # before anything starts: a record or workspace that cannot be written is a mistake
        if record is not None:
            check_output_file(record, flag="--record")
        if workspace is not None:
            check_output_dir(workspace, flag="--workspace")
    given = {"timeout_s": timeout_s, "memory_mb": memory_mb, "max_procs": max_procs, "output_kb": output_kb,
             "workspace_mb": workspace_mb}
    try:
        return SandboxSettings(backend=backend, require_isolation=require_isolation, record_path=record,
                               workspace_root=workspace,
                               limits=Limits(**{k: v for k, v in given.items() if v is not None}))
    except ValidationError as e:  # the flags' bounds are the settings' own; this is a second line of defence
        first = e.errors()[0]
        fail(f"--{str(first['loc'][-1]).replace('_', '-')}: {first['msg']}")


def serve(
    transport: Annotated[Literal["stdio", "http"], typer.Option(help="stdio or http (streamable HTTP)")] = "stdio",
    host: Annotated[str, typer.Option(help="HTTP bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port (0: any free port, printed at start)")]
    = 8000,
    backend: BackendOpt = "auto",
    record: Annotated[Path | None, typer.Option(help="append one JSON line per execution to FILE")] = None,
    require_isolation: RequireOpt = "none",
    timeout_s: TimeoutOpt = None,
    memory_mb: MemoryOpt = None,
    max_procs: ProcsOpt = None,
    output_kb: OutputOpt = None,
    workspace: Annotated[Path | None, typer.Option(help="directory for session workspaces [a temp dir]")] = None,
    workspace_mb: WorkspaceMbOpt = None,
    token: Annotated[str | None, typer.Option(envvar="TDSCALING_TOKEN",
                                              help="HTTP: clients must send Authorization: Bearer TOKEN")] = None,
    insecure: Annotated[bool, typer.Option(help="allow a non-loopback --host with no token (only behind a proxy "
                                                "that authenticates)")] = False,
    max_http_sessions: Annotated[int, typer.Option(
        metavar="N", min=1, max=100_000, help="HTTP: MCP sessions open at most; the longest-idle one makes room")]
    = 64,
    http_session_idle_s: Annotated[float, typer.Option(
        metavar="SECONDS", min=0.001, max=86_400, help="HTTP: close an MCP session after this long without a "
        "request")] = 600.0,
) -> None:
    """Serve the sandbox as an MCP server (stdio by default)."""
    from tdscaling.sandbox import IsolationUnavailableError, serve_sandbox

    settings = _settings(backend=backend, require_isolation=require_isolation, record=record, timeout_s=timeout_s,
                         memory_mb=memory_mb, max_procs=max_procs, output_kb=output_kb, workspace=workspace,
                         workspace_mb=workspace_mb)

    def ready(serving: SandboxServing) -> None:
        typer.echo(f"tdscaling sandbox: {serving.headline}", err=True)
        if serving.url is not None:
            typer.echo(f"tdscaling sandbox: listening on {serving.url}", err=True)

    try:
        with usage_errors(IsolationUnavailableError):
            serve_sandbox(settings, transport=transport, host=host, port=port, token=token, insecure=insecure,
                          max_http_sessions=max_http_sessions, http_session_idle_s=http_session_idle_s,
                          on_ready=ready)
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass


def check(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    backend: BackendOpt = "auto",
) -> None:
    """Show which isolation works on this host, layer by layer, and why."""
    from tdscaling.sandbox import IsolationUnavailableError, plan_backend

    with usage_errors(IsolationUnavailableError):
        plan = plan_backend(_settings(backend=backend, require_isolation="none"))
    report = plan.report
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    from rich.console import Console

    console = Console()
    style = "bold green" if report.level == "strong" else "bold red"
    console.print(f"[{style}]{report.headline()}[/]", highlight=False)
    for layer in report.layers:
        mark = "[green]yes[/]" if layer.active else "[red]no [/]"
        console.print(f"  {mark}  {layer.name}: {layer.detail}", highlight=False)
    for warning in report.warnings:
        console.print(f"[bold red]WARNING[/] {warning}", highlight=False)
    if plan.docker_error:
        console.print(f"  docker: {plan.docker_error}", highlight=False)
    console.print(f"  interpreter for user code: {report.interpreter}", highlight=False)


def run(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="program to run; '-' reads it from stdin")],
    language: Annotated[Literal["python", "bash"] | None, typer.Option(
        help="python or bash [from the suffix; python]", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole result as JSON")] = False,
    backend: BackendOpt = "auto",
    require_isolation: RequireOpt = "none",
    timeout_s: TimeoutOpt = None,
    memory_mb: MemoryOpt = None,
    max_procs: ProcsOpt = None,
    output_kb: OutputOpt = None,
) -> None:
    """Run one program in a fresh sandbox and exit with its exit code."""
    from tdscaling.sandbox import IsolationUnavailableError, run_code

    if file == "-":
        code = sys.stdin.read()
    else:
        try:
            code = Path(file).read_text(encoding="utf-8")
        except OSError as e:
            fail(f"cannot read {file!r}: {e.strerror}")
        except UnicodeDecodeError:
            fail(f"{file!r} is not UTF-8 text")
    settings = _settings(backend=backend, require_isolation=require_isolation, timeout_s=timeout_s,
                         memory_mb=memory_mb, max_procs=max_procs, output_kb=output_kb)
    with usage_errors(IsolationUnavailableError):
        result = run_code(code, language=language or ("bash" if file.endswith(".sh") else "python"),
                          settings=settings)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.isolation_level != "strong":
            typer.echo(f"tdscaling sandbox: WARNING: isolation was {result.isolation_level}", err=True)
    raise typer.Exit(min(result.exit_code, 255))


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command group to ``app``."""
    add_commands(app, {"serve": serve, "check": check, "run": run}, group="sandbox",
                 help="Sandboxed code execution over MCP: serve, check the host's isolation, run one file.")
