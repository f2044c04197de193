"""The seam every model backend fits: messages and tools in, one assistant message out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ._model_types import ChatMessage, GenerationSettings, ModelReply


@runtime_checkable
class ModelBackend(Protocol):
    """Plays one side of a conversation (the assistant, or the simulated user).

    A backend is given the whole conversation so far in OpenAI chat format, the tools in
    OpenAI function format, and sampling settings, and returns the next assistant message
    with its usage. It keeps no conversation state of its own between calls, so the
    episode owns the transcript: the litellm backend sends it to a model, and the scripted
    backend reads earlier tool outputs from it to bind the next call's arguments.

    Raises:
        RetryableModelError: a transient failure that outlived the backend's retries.
        FatalModelError: a failure that repeating cannot fix.
    """

    @property
    def name(self) -> str:
        """The model's name as it should appear in a trajectory's labels."""
        ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        settings: GenerationSettings | None = None,
    ) -> ModelReply: ...
