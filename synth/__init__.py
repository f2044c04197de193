"""tdscaling.synth: blueprints, diversity metrics, the evolution controller, and the synthesis run.

``synth_run(RunConfig(...), out, catalog=...)`` is what ``tdscaling synth run`` calls; ``Planner`` turns a
cluster and a reasoning mode into a feasible blueprint; ``MetricsTracker`` measures Domain Entropy, Reasoning
Mode Entropy and Cumulative Action Complexity (docs/metrics.md); ``make_strategy`` builds the controller;
``export(run, out, options=ExportOptions(...))`` and ``check_export`` are ``tdscaling export`` (docs/export.md).

Nothing is imported until first used (``tdscaling.common.lazy_exports``): the ``tdscaling`` command lives
in this package.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from tdscaling.synth._evolution import Decision, EvolveSettings, Task, make_strategy
    from tdscaling.synth._export import ExportResult, export
    from tdscaling.synth._export_options import ExportOptions
    from tdscaling.synth._export_rows import openai_row, sharegpt_row
    from tdscaling.synth._metrics import MetricsTracker, RoundMetrics, entropy, measure, normalized_entropy
    from tdscaling.synth._modes import feasible_modes, observed_mode
    from tdscaling.synth._planner import Planner, PlanningFailure
    from tdscaling.synth._report import write_report
    from tdscaling.synth._run import RunConfig, RunResult, SynthRun, synth_run
    from tdscaling.synth._template_check import TemplateReport, check_export

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
