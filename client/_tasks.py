"""The harness's tasks as functions: play one episode of a blueprint, judge one conversation.

These are what ``tdscaling episode run`` and ``episode verify`` call. Each makes its own ``Harness`` (the
blueprint's world and a sandbox) and closes it; a run of many episodes shares one ``Harness`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tdscaling.common import blocking
from tdscaling.servers import Catalog

from ._blueprint import Blueprint
from ._conversation import EpisodeLimits
from ._harness import Harness, load_blueprint, load_messages
from ._players import SCRIPTED, Model, Players
from ._trajectory import Trajectory
from ._verdict import Judgement


def _blueprint(blueprint: Blueprint | Path | str) -> Blueprint:
    return blueprint if isinstance(blueprint, Blueprint) else load_blueprint(Path(blueprint))


async def run_episode_async(blueprint: Blueprint | Path | str, *, model: Model = SCRIPTED,
                            user_model: Model = SCRIPTED, api_base: str | None = None, api_key: str | None = None,
                            catalog: Catalog | None = None, clusters_file: Path | None = None, seed: int = 0,
                            limits: EpisodeLimits | None = None) -> Trajectory:
    """Play one episode of ``blueprint`` and judge it by replay; the trajectory carries the verdict.

    ``blueprint`` is a ``Blueprint`` or the path of a blueprint JSON file. ``model`` plays the assistant and
    ``user_model`` the user: ``"scripted"`` (offline, follows the blueprint), any litellm model string such as
    ``"openai/gpt-4o-mini"`` (reached at ``api_base`` with ``api_key``, else the provider's environment
    variable), or a ``ModelBackend``. The blueprint's cluster is resolved in ``catalog`` (the built-in one by
    default) and, for a cluster id, in ``clusters_file``.

    Raises:
        SpecError: a malformed blueprint file or a cluster that cannot be found.
        ModelAuthError: the provider refused the key, or none was given.

    Example::

        import anyio
        from tdscaling.client import run_episode_async

        t = anyio.run(lambda: run_episode_async("examples/blueprints/online_store_ship_paid_order.json"))
        assert t.verdict == "accepted"
    """
    bp = _blueprint(blueprint)
    players = Players.of(model, user_model, api_base=api_base, api_key=api_key)
    with Harness(catalog if catalog is not None else Catalog.load(), clusters_file=clusters_file) as harness:
        harness.runtime(bp)  # a bad cluster reference fails here, before any model or sandbox starts
        return await harness.run(bp, assistant=players.assistant, user=players.user_for(bp), seed=seed,
                                 limits=limits)


async def verify_async(blueprint: Blueprint | Path | str,
                       messages: Sequence[Mapping[str, Any]] | Trajectory | Path | str, *,
                       catalog: Catalog | None = None, clusters_file: Path | None = None) -> Judgement:
    """Judge a conversation made anywhere (another model, another tool, edited by hand) against
    ``blueprint``, by re-executing its tool calls on a fresh copy of the world.

    ``messages`` is an OpenAI-format conversation, a ``Trajectory``, or the path of a trajectory JSON file
    (an object with ``messages``, or a list of messages). A tampered tool result, an invented id, a skipped
    write or a wrong final answer is rejected with its reason code (``REASON_CODES``).

    Example::

        from tdscaling.client import run_episode, verify

        bp = "examples/blueprints/online_store_ship_paid_order.json"
        t = run_episode(bp)
        assert "no_final_answer" in verify(bp, t.messages[:-1]).reasons  # its final answer cut off
    """
    bp = _blueprint(blueprint)
    if isinstance(messages, Trajectory):
        conversation: Sequence[Mapping[str, Any]] = messages.messages
    elif isinstance(messages, Path | str):
        conversation = load_messages(Path(messages))
    else:
        conversation = messages
    with Harness(catalog if catalog is not None else Catalog.load(), clusters_file=clusters_file) as harness:
        return await harness.verify(bp, conversation)


run_episode = blocking(run_episode_async, name="run_episode", doc="""Play one episode of a blueprint and judge
    it; ``run_episode_async`` without an event loop of your own (the same arguments and errors).

    Example::

        from tdscaling.client import run_episode

        t = run_episode("examples/blueprints/online_store_ship_paid_order.json")          # offline players
        t = run_episode(blueprint, model="openai/gpt-4o-mini", user_model="openai/gpt-4o-mini")
        print(t.verdict, t.reasons, t.labels.tool_path)
    """)

verify = blocking(verify_async, name="verify", doc="""Judge a conversation against a blueprint by replaying its
    tool calls; ``verify_async`` without an event loop of your own (the same arguments).

    Example::

        from tdscaling.client import verify

        judgement = verify("blueprint.json", "trajectory.json")
        print(judgement.verdict, judgement.reasons, judgement.details)
    """)
