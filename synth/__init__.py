"""tdscaling.synth: blueprints, diversity metrics, the evolution controller, and the synthesis run.

The tasks, each what one command does:

* ``plan(cluster, mode, seed=...)``: a feasible blueprint of a reasoning mode over a cluster, proved by a
  dry run;
* ``synthesize(RunConfig(...), out)`` and ``synthesize_async``: a whole run into a folder (``tdscaling synth
  run``), the players being ``RunConfig.model``/``user_model`` (offline when unset, else litellm models);
  ``demo(out)``: the offline demo (``tdscaling demo``);
* ``export(run, output, options=ExportOptions(...))``: a run's accepted trajectories as training data
  (``tdscaling export``; docs/export.md).

Beneath them: ``RunFolder`` reads a run's typed rows; ``MetricsTracker`` measures Domain Entropy, Reasoning
Mode Entropy and Cumulative Action Complexity (docs/metrics.md); ``make_strategy`` builds the controller.
See docs/api.md.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): the ``tdscaling`` command lives
in this package.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from ._evolution import (
        STRATEGIES,
        Decision,
        EvolveSettings,
        Strategy,
        StrategyName,
        Task,
        detect_collapse,
        make_strategy,
    )
    from ._executor import EpisodeExecutor
    from ._export import ExportResult, export
    from ._export_options import ExportOptions
    from ._export_rows import openai_row, sharegpt_row
    from ._metrics import (
        ComplexityWeights,
        MetricsTracker,
        RoundMetrics,
        TrajectoryMeasure,
        entropy,
        measure,
        normalized_entropy,
    )
    from ._modes import ClusterShape, cluster_complexity, feasible_modes, observed_mode
    from ._planner import PLANNING_REASONS, Planner, PlanningFailure
    from ._report import write_report
    from ._rows import BlueprintRow, FailureRow, PlanningAttempt, TrajectoryRow
    from ._run import RoundProgress, RunResult
    from ._run_config import RunConfig
    from ._run_folder import RunFolder
    from ._synthesize import demo, demo_async, plan, synthesize, synthesize_async
    from ._template_check import TemplateCheckFailed, TemplateReport, check_export

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
