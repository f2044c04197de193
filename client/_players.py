"""Who plays the assistant and the user, from model strings: resolved here, once, for every caller.

``"scripted"`` names the offline players (the scripted assistant follows the blueprint; the scripted user
says only what the blueprint holds); any other string is a litellm model (``"openai/gpt-4o-mini"``,
``"anthropic/claude-3-5-haiku-latest"``, ``"ollama/llama3"``), reached at ``api_base`` with ``api_key`` when
given; a ``ModelBackend`` object is used as it is. The way pydantic-ai's ``Agent("openai:gpt-4o")`` reads a
model name, so a library caller and the CLI get the same players from the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._backend import ModelBackend
from ._blueprint import Blueprint
from ._user import LLMUser, ScriptedUser, UserSimulator

SCRIPTED = "scripted"

Model = str | ModelBackend
"""A model: ``"scripted"``, a litellm model string, or a ``ModelBackend``."""


def model_backend(model: Model, *, api_base: str | None = None, api_key: str | None = None) -> ModelBackend | None:
    """The backend ``model`` names; ``None`` for ``"scripted"`` (the offline player, made per blueprint).

    Example::

        from tdscaling.client import model_backend

        backend = model_backend("openai/gpt-4o-mini", api_base="http://127.0.0.1:8000/v1", api_key="none")
    """
    if not isinstance(model, str):
        return model
    if model == SCRIPTED:
        return None
    from ._litellm import LiteLLMBackend

    return LiteLLMBackend(model, api_base=api_base, api_key=api_key)


@dataclass(frozen=True)
class Players:
    """The assistant's and the user's backends for a run of episodes (``None``: the scripted player)."""

    assistant: ModelBackend | None = None
    user: ModelBackend | None = None

    @classmethod
    def of(cls, model: Model = SCRIPTED, user_model: Model = SCRIPTED, *, api_base: str | None = None,
           api_key: str | None = None) -> Players:
        """Resolve both model strings (see ``model_backend``)."""
        assistant = model_backend(model, api_base=api_base, api_key=api_key)
        user = model_backend(user_model, api_base=api_base, api_key=api_key)
        return cls(assistant, user)

    def user_for(self, blueprint: Blueprint) -> UserSimulator:
        """The user of an episode of ``blueprint``."""
        return ScriptedUser(blueprint) if self.user is None else LLMUser(blueprint, self.user)
