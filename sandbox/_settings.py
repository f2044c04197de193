"""Settings of the sandbox: limits, backend choice, sessions, recording. Passed down, never global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BackendChoice = Literal["auto", "local", "docker"]
IsolationLevel = Literal["none", "weak", "strong"]


class Limits(BaseModel):
    """Per-execution resource limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=30.0, gt=0, le=3600, description="wall-clock limit; the default and maximum")
    cpu_s: int = Field(default=60, ge=1, le=3600, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(default=512, ge=16, le=1 << 20, description="memory of the whole process tree")
    max_procs: int = Field(default=64, ge=1, le=4096, description="processes and threads alive at once")
    output_kb: int = Field(default=64, ge=1, le=1 << 16, description="cap on stdout and on stderr, each")
    file_size_mb: int = Field(default=64, ge=1, le=1 << 20, description="largest file a program may write")
    open_files: int = Field(default=256, ge=16, le=65536, description="open file descriptors (RLIMIT_NOFILE)")
    tmp_mb: int = Field(default=64, ge=1, le=1 << 20, description="size of the private /tmp")
    workspace_mb: int = Field(
        default=256, ge=1, le=1 << 20,
        description="size of each session's workspace (a tmpfs where the host allows mounting; see sandbox check)",
    )


class SandboxSettings(BaseModel):
    """Everything the sandbox needs to start. Build it at the CLI edge; pass it down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: BackendChoice = "auto"
    require_isolation: IsolationLevel = Field(default="none", description="refuse to start below this level")
    limits: Limits = Field(default_factory=Limits)
    record_path: Path | None = Field(default=None, description="JSONL file; one line per execution")
    record_fsync: bool = Field(default=True, description="fsync each record before the tool replies")
    recent_executions: int = Field(default=50, ge=0, le=10_000, description="kept in memory for the resource")
    workspace_root: Path | None = Field(default=None, description="where session workspaces live; a temp dir if unset")
    session_idle_s: float = Field(default=1800.0, gt=0, description="idle sessions are closed after this")
    max_sessions: int = Field(default=64, ge=1, le=10_000)
    max_code_bytes: int = Field(default=1 << 20, ge=1, description="largest accepted code string")
    max_file_bytes: int = Field(default=8 << 20, ge=1, description="largest file the file tools move")
    python: Path = Field(
        default=Path("/usr/bin/python3"),
        description="interpreter that runs user code; must live under /usr (bound read-only into the sandbox)",
    )
    warm_start: bool = Field(
        default=True,
        description="after each one-shot run, pre-start the session's next Python sandbox (it waits for its program)",
    )
    docker_image: str = "python:3.11-slim"
