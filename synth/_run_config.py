"""What decides what a run makes: ``RunConfig``, stored in the run's manifest (a resume must match it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tdscaling.client import SCRIPTED, Players

from ._evolution import StrategyName


class RunConfig(BaseModel):
    """Everything that decides what a run makes (stored in the manifest; a resume must match it).

    ``model`` plays the assistant and ``user_model`` the user: ``None`` (or ``"scripted"``) for the offline
    players, else a litellm model string reached at ``api_base``; with a ``model``, each blueprint's goal is
    also reworded by it. ``api_key`` is used for both and is never written anywhere (without it litellm reads
    the provider's variable, such as ``OPENAI_API_KEY``).

    Example::

        from tdscaling.synth import RunConfig

        offline = RunConfig(rounds=4, per_round=50)
        local = RunConfig(rounds=8, per_round=100, model="openai/qwen2.5-7b", user_model="openai/qwen2.5-7b",
                          api_base="http://127.0.0.1:8000/v1", api_key="none", concurrency=32)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(ge=1)
    per_round: int = Field(ge=1)
    strategy: StrategyName = "evolve"
    seed: int = 0
    concurrency: int = Field(default=8, ge=1)
    model: str | None = None
    user_model: str | None = None
    api_base: str | None = None
    domains: list[str] | None = None
    clusters_file: str | None = None
    pool_size: int = Field(default=0, ge=0)  # 0: 4 x per_round, at most 400
    pool_skew: list[str] | None = None  # start from a pool drawn mostly from these domains (benchmarks)
    rows: int | None = None
    # Wall-clock seconds for one task's model work: the goal rewrite and the whole conversation. A model call
    # still running at the deadline is cancelled and the task recorded as rejected with ``time_limit``.
    task_time_s: float = Field(default=300.0, gt=0, le=86_400)
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)  # never in the manifest

    def players(self) -> Players:
        """The run's players, resolved from ``model``, ``user_model``, ``api_base`` and ``api_key``."""
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        return Players.of(self.model or SCRIPTED, self.user_model or SCRIPTED, api_base=self.api_base, api_key=key)


def same_config(old: Any, new: RunConfig) -> bool:
    """Whether a manifest's config is ``new``; a field the old manifest predates counts as its default."""
    if not isinstance(old, dict):
        return False
    current = new.model_dump(mode="json")
    for name, value in current.items():
        field = RunConfig.model_fields[name]
        expected = old[name] if name in old else field.get_default(call_default_factory=True)
        if expected != value:
            return False
    return set(old) <= set(current)
