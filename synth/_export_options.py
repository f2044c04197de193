"""What ``tdscaling export`` is asked for: the layout, how arguments and parallel calls are written, the card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExportFormat = Literal["openai", "sharegpt"]
ArgumentsMode = Literal["object", "string"]
ParallelCalls = Literal["keep", "split"]


@dataclass(frozen=True)
class ExportOptions:
    """How a run is exported.

    Attributes:
        fmt: ``openai`` (``messages``) or ``sharegpt`` (LLaMA-Factory's ``conversations``).
        arguments: tool-call arguments as JSON ``object``s (TRL, axolotl, Qwen2.5, Llama-3.1) or JSON
            ``string``s (DeepSeek-V3's template); ``openai`` only: ShareGPT's function_call is always an object.
        parallel_calls: ``keep`` several calls in one assistant turn, or ``split`` them into consecutive
            single-call turns (Llama-3.1's template raises on parallel calls).
        parquet: write ``data/train.parquet`` beside the JSON Lines (a folder export only).
        license: the card's ``license`` (a Hub license id).
        check_template: first render every row through this chat template (a name TRL ships, such as
            ``qwen2_5`` or ``llama3_1``, or a Jinja file) and write nothing if a row fails or double-encodes;
            needs ``tdscaling[train]``.
    """

    fmt: ExportFormat = "openai"
    arguments: ArgumentsMode = "object"
    parallel_calls: ParallelCalls = "keep"
    parquet: bool = False
    license: str = "apache-2.0"
    check_template: str | None = None

    def problem(self) -> str | None:
        """Why this combination cannot be written, or ``None``."""
        if self.fmt == "sharegpt" and self.arguments == "string":
            return ("--arguments string applies to --format openai; ShareGPT's function_call holds the arguments "
                    "as an object, which LLaMA-Factory encodes itself")
        return None
