"""What one execution returns: the result model shared by every backend and the MCP tool."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["python", "bash"]
LimitHit = Literal["time", "memory", "cpu", "file_size", "processes", "output"]


class ExecutionResult(BaseModel):
    """The outcome of running code once. A failing program is data, not an exception.

    ``exit_code`` follows the shell's convention: 128 + N when the program died from signal N.
    ``limit`` names the first limit that ended or cut the run, if any.
    """

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    truncated: bool = Field(default=False, description="stdout or stderr was cut at the output cap")
    duration_ms: float
    cpu_ms: float | None = Field(default=None, description="user + system CPU time of the process tree")
    max_rss_kb: int | None = Field(default=None, description="peak resident set size (largest process)")
    limit: LimitHit | None = Field(default=None, description="which limit ended or cut the run")
    interpreter_restarted: bool = Field(
        default=False, description="persistent mode: the interpreter was killed and its variables are lost"
    )
