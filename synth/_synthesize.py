"""The synthesis tasks as functions: a blueprint for a cluster and a mode, a whole run, the offline demo.

``synthesize`` is what ``tdscaling synth run`` calls and ``demo`` what ``tdscaling demo`` calls; ``export``
(``tdscaling export``) lives with the export.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tdscaling.client import Blueprint, ModelAuthError, ReasoningMode
from tdscaling.common import UsageError, blocking
from tdscaling.servers import Catalog, ClusterSpec, SpecError, load_cluster

from ._planner import Planner
from ._run import RoundProgress, RunResult, synth_run
from ._run_config import RunConfig
from ._run_folder import RunFolder


def plan(cluster: ClusterSpec | str, mode: ReasoningMode, *, seed: int = 0, catalog: Catalog | None = None,
         rows: int | None = None) -> Blueprint:
    """A feasible blueprint of ``mode`` over ``cluster`` (a ``ClusterSpec`` or a domain name), its plan proved
    by a dry run on a fresh copy of the seeded world; the same ``seed`` gives the same blueprint.

    Raises ``PlanningFailure`` (with a ``reason`` code) when the cluster cannot give the mode.

    Example::

        from tdscaling.synth import plan

        blueprint = plan("online_store", "error_recovery", seed=0)
        print(blueprint.goal, [step.tool for step in blueprint.plan])
    """
    catalog = catalog if catalog is not None else Catalog.load()
    spec = cluster if isinstance(cluster, ClusterSpec) else load_cluster(cluster, catalog)
    with Planner(catalog, rows=rows) as planner:
        return planner.plan(spec, mode, random.Random(seed))


def _first_mistake(group: BaseExceptionGroup) -> Exception | None:
    """The first caller's mistake met inside a task group: a bad input, or credentials the provider refused."""
    for e in group.exceptions:
        if isinstance(e, UsageError | ModelAuthError):
            return e
        if isinstance(e, BaseExceptionGroup) and (inner := _first_mistake(e)) is not None:
            return inner
    return None


async def synthesize_async(config: RunConfig, out: Path, *, resume: bool = False,
                           on_progress: Callable[[RoundProgress], None] | None = None,
                           catalog: Catalog | None = None, manifest_extra: Mapping[str, Any] | None = None
                           ) -> RunResult:
    """Run (or ``resume``) a synthesis run into the folder ``out``: rounds of planned, judged episodes steered
    toward the long tail, every row appended as it finishes, a report after every round.

    The players are ``config.model``/``user_model`` (offline when unset, else litellm models at
    ``config.api_base`` with ``config.api_key``); ``on_progress`` hears after every finished task and round;
    ``catalog`` is the built-in one unless given (a resume needs the same).

    Raises:
        SpecError: a bad input (an unknown domain, a clusters file that holds none), a non-empty ``out`` for a
            fresh run, or a folder that is not a run made with this config and catalog for a resume.
        ModelAuthError: the provider refused the key, or none was given (the run stops; resume it after).

    Example::

        import anyio
        from pathlib import Path
        from tdscaling.synth import RunConfig, synthesize_async

        result = anyio.run(lambda: synthesize_async(RunConfig(rounds=2, per_round=20), Path("runs/r1")))
    """
    try:
        return await synth_run(config, out, catalog=catalog if catalog is not None else Catalog.load(),
                               resume=resume, on_progress=on_progress, manifest_extra=manifest_extra)
    except BaseExceptionGroup as group:  # a mistake met inside a task group is raised as itself
        mistake = _first_mistake(group)
        if mistake is None:
            raise
        raise mistake from None


synthesize = blocking(synthesize_async, name="synthesize", doc="""Run (or resume) a synthesis run into a folder;
    ``synthesize_async`` without an event loop of your own (the same arguments and errors).

    Example::

        from pathlib import Path
        from tdscaling.synth import RunConfig, synthesize

        result = synthesize(RunConfig(rounds=4, per_round=50, seed=1), Path("runs/r1"))
        print(result.accepted, result.rounds[-1].domain_entropy_norm)
        synthesize(RunConfig(rounds=8, per_round=100, model="openai/gpt-4o-mini"), Path("runs/r2"))
    """)


def _is_demo(folder: RunFolder) -> bool:
    try:
        return json.loads((folder / RunFolder.MANIFEST).read_text()).get("demo") is True
    except (OSError, ValueError, AttributeError):
        return False


def _clear_earlier_demo(out: Path) -> None:
    """Remove an earlier demo's output from ``out``; refuse any other non-empty folder."""
    if out.exists() and any(out.iterdir()):
        if not _is_demo(RunFolder(out)):
            raise SpecError(f"{out} is not empty and is not an earlier demo's output; pass another --out")
        shutil.rmtree(out)  # the demo's own previous output


async def demo_async(out: Path = Path("tdscaling-demo"), *, rounds: int = 6, per_round: int = 100,
                     on_progress: Callable[[RoundProgress], None] | None = None) -> RunResult:
    """A small offline run (no API key, no network): a verified dataset, a diversity report and a plot in
    ``out``. An earlier demo's output there is replaced; any other non-empty folder is refused (``SpecError``).

    Example::

        import anyio
        from tdscaling.synth import demo_async

        result = anyio.run(lambda: demo_async(rounds=1, per_round=10))
    """
    _clear_earlier_demo(out)
    config = RunConfig(rounds=rounds, per_round=per_round, strategy="evolve", seed=0, concurrency=8)
    return await synthesize_async(config, out, on_progress=on_progress, manifest_extra={"demo": True})


demo = blocking(demo_async, name="demo", doc="""The offline demo run (``tdscaling demo``); ``demo_async`` without
    an event loop of your own.

    Example::

        from tdscaling.synth import demo

        result = demo(rounds=1, per_round=10)
        print(result.out / "trajectories.jsonl", result.accepted)
    """)
