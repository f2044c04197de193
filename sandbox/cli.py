"""``tdscaling sandbox ...``: serve the sandbox over MCP, check the host's isolation, run one file.

Heavy imports (mcp, docker) stay inside the command bodies so ``tdscaling --help`` stays fast. User
mistakes exit 2 with one line on stderr; the environment is read here and nowhere else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from tdscaling.sandbox._settings import SandboxSettings

_BACKENDS = ("auto", "local", "docker")
_LEVELS = ("none", "weak", "strong")
_TRANSPORTS = ("stdio", "http")


def _die(message: str) -> NoReturn:
    typer.echo(f"tdscaling sandbox: {message}", err=True)
    raise typer.Exit(2)


def _choice(flag: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        _die(f"{flag} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _number(flag: str, value: str | None, kind: type[int] | type[float]) -> Any:
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError:
        _die(f"{flag} must be {'an integer' if kind is int else 'a number'}; got {value!r}")
    if number <= 0:
        _die(f"{flag} must be positive; got {value!r}")
    return number


def _settings(
    *,
    backend: str,
    require_isolation: str,
    record: Path | None,
    timeout_s: str | None,
    memory_mb: str | None,
    max_procs: str | None,
    output_kb: str | None,
    workspace: Path | None = None,
    workspace_mb: str | None = None,
) -> SandboxSettings:
    from pydantic import ValidationError

    from tdscaling.common import UsageError, check_output_dir, check_output_file
    from tdscaling.sandbox._settings import Limits, SandboxSettings

    try:  # before anything starts: a record or workspace that cannot be written is the caller's mistake
        if record is not None:
            check_output_file(record, flag="--record")
        if workspace is not None:
            check_output_dir(workspace, flag="--workspace")
    except UsageError as e:
        _die(str(e))
    limit_values = {
        "timeout_s": _number("--timeout-s", timeout_s, float),
        "memory_mb": _number("--memory-mb", memory_mb, int),
        "max_procs": _number("--max-procs", max_procs, int),
        "output_kb": _number("--output-kb", output_kb, int),
        "workspace_mb": _number("--workspace-mb", workspace_mb, int),
    }
    try:
        limits = Limits(**{k: v for k, v in limit_values.items() if v is not None})
        return SandboxSettings(
            backend=_choice("--backend", backend, _BACKENDS),
            require_isolation=_choice("--require-isolation", require_isolation, _LEVELS),
            record_path=record,
            workspace_root=workspace,
            limits=limits,
        )
    except ValidationError as e:
        first = e.errors()[0]
        _die(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")


_BACKEND_OPT = typer.Option("auto", "--backend", help="auto (Docker if reachable, else local), local or docker")
_REQUIRE_OPT = typer.Option("none", "--require-isolation", help="refuse to start below: none, weak or strong")
_TIMEOUT_OPT = typer.Option(None, "--timeout-s", metavar="SECONDS", help="wall-clock limit per run [30]")
_MEMORY_OPT = typer.Option(None, "--memory-mb", metavar="MB", help="memory of a run's process tree [512]")
_PROCS_OPT = typer.Option(None, "--max-procs", metavar="N", help="processes and threads at once [64]")
_OUTPUT_OPT = typer.Option(None, "--output-kb", metavar="KIB", help="cap on stdout and on stderr each [64]")
_WORKSPACE_MB_OPT = typer.Option(None, "--workspace-mb", metavar="MB",
                                 help="size cap of each session's workspace, where the host allows it [256]")


def serve(
    transport: str = typer.Option("stdio", "--transport", help="stdio or http (streamable HTTP)"),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP bind address"),
    port: str = typer.Option("8000", "--port", help="HTTP port (0: any free port, printed at start)"),
    backend: str = _BACKEND_OPT,
    record: Path | None = typer.Option(None, "--record", help="append one JSON line per execution to FILE"),
    require_isolation: str = _REQUIRE_OPT,
    timeout_s: str | None = _TIMEOUT_OPT,
    memory_mb: str | None = _MEMORY_OPT,
    max_procs: str | None = _PROCS_OPT,
    output_kb: str | None = _OUTPUT_OPT,
    workspace: Path | None = typer.Option(None, "--workspace", help="directory for session workspaces [a temp dir]"),
    workspace_mb: str | None = _WORKSPACE_MB_OPT,
    token: str | None = typer.Option(None, "--token", envvar="TDSCALING_TOKEN",
                                     help="HTTP: clients must send Authorization: Bearer TOKEN"),
    insecure: bool = typer.Option(False, "--insecure", help="allow a non-loopback --host with no token "
                                  "(only behind a proxy that authenticates)"),
    max_http_sessions: str = typer.Option("64", "--max-http-sessions", metavar="N",
                                          help="HTTP: MCP sessions open at most; the longest-idle one makes room"),
    http_session_idle_s: str = typer.Option("600", "--http-session-idle-s", metavar="SECONDS",
                                            help="HTTP: close an MCP session after this long without a request"),
) -> None:
    """Serve the sandbox as an MCP server (stdio by default)."""
    from pydantic import ValidationError

    from tdscaling.common import HttpOptions, UsageError, check_bind

    _choice("--transport", transport, _TRANSPORTS)
    port_number = 0 if port == "0" else _number("--port", port, int)
    try:
        options = HttpOptions(host=host, port=port_number, token=token or None, insecure=insecure, risk=_RISK,
                              max_sessions=_number("--max-http-sessions", max_http_sessions, int),
                              session_idle_s=_number("--http-session-idle-s", http_session_idle_s, float))
    except ValidationError as e:
        first = e.errors()[0]
        _die(f"{_HTTP_FLAGS.get(str(first['loc'][0]), '--' + str(first['loc'][0]))}: {first['msg']}")
    if transport == "http":
        try:
            check_bind(host, token=options.token, insecure=insecure, risk=_RISK)
        except UsageError as e:
            _die(str(e))
    settings = _settings(
        backend=backend,
        require_isolation=require_isolation,
        record=record,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        max_procs=max_procs,
        output_kb=output_kb,
        workspace=workspace,
        workspace_mb=workspace_mb,
    )
    import anyio

    from tdscaling.common import serve_http
    from tdscaling.sandbox._errors import IsolationUnavailableError
    from tdscaling.sandbox._server import build_sandbox_server

    try:
        server = build_sandbox_server(settings)
    except IsolationUnavailableError as e:
        _die(str(e))
    typer.echo(f"tdscaling sandbox: {server.instructions.splitlines()[0] if server.instructions else ''}", err=True)
    if transport == "stdio":
        anyio.run(server.run_stdio_async)
        return

    def ready(url: str) -> None:
        typer.echo(f"tdscaling sandbox: listening on {url}", err=True)

    try:
        serve_http(server, options, on_ready=ready)
    except OSError as e:
        _die(f"cannot listen on {host}:{port_number}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass


_RISK = "could run code on this machine"
_HTTP_FLAGS = {"port": "--port", "max_sessions": "--max-http-sessions", "session_idle_s": "--http-session-idle-s"}


def check(
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    backend: str = _BACKEND_OPT,
) -> None:
    """Show which isolation works on this host, layer by layer, and why."""
    settings = _settings(
        backend=backend,
        require_isolation="none",
        record=None,
        timeout_s=None,
        memory_mb=None,
        max_procs=None,
        output_kb=None,
    )
    from tdscaling.sandbox._errors import IsolationUnavailableError
    from tdscaling.sandbox._select import plan_backend

    try:
        plan = plan_backend(settings)
    except IsolationUnavailableError as e:
        _die(str(e))
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
    file: str = typer.Argument(..., metavar="FILE|-", help="program to run; '-' reads it from stdin"),
    language: str | None = typer.Option(None, "--language", help="python or bash [from the suffix; python]"),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
    backend: str = _BACKEND_OPT,
    require_isolation: str = _REQUIRE_OPT,
    timeout_s: str | None = _TIMEOUT_OPT,
    memory_mb: str | None = _MEMORY_OPT,
    max_procs: str | None = _PROCS_OPT,
    output_kb: str | None = _OUTPUT_OPT,
) -> None:
    """Run one program in a fresh sandbox and exit with its exit code."""
    if file == "-":
        code = sys.stdin.read()
    else:
        try:
            code = Path(file).read_text(encoding="utf-8")
        except OSError as e:
            _die(f"cannot read {file!r}: {e.strerror}")
        except UnicodeDecodeError:
            _die(f"{file!r} is not UTF-8 text")
    lang = language or ("bash" if file.endswith(".sh") else "python")
    _choice("--language", lang, ("python", "bash"))
    settings = _settings(
        backend=backend,
        require_isolation=require_isolation,
        record=None,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        max_procs=max_procs,
        output_kb=output_kb,
    )
    import anyio

    from tdscaling.sandbox._errors import IsolationUnavailableError, SandboxUsageError
    from tdscaling.sandbox._sandbox import ExecuteCodeOutput, open_sandbox

    async def once() -> ExecuteCodeOutput:
        async with open_sandbox(settings) as sandbox:
            return await sandbox.execute(code, language=lang, session_id="run")

    try:
        result = anyio.run(once)
    except (IsolationUnavailableError, SandboxUsageError) as e:
        _die(str(e))
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
    group = typer.Typer(
        name="sandbox",
        help="Sandboxed code execution over MCP: serve, check the host's isolation, run one file.",
        no_args_is_help=True,
    )
    group.command("serve")(serve)
    group.command("check")(check)
    group.command("run")(run)
    app.add_typer(group, name="sandbox")
