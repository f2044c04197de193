"""tdscaling.synth: blueprints, diversity metrics, the evolution controller, and the synthesis run.

``synth_run(RunConfig(...), out, catalog=...)`` is what ``tdscaling synth run`` calls; ``Planner`` turns a
cluster and a reasoning mode into a feasible blueprint; ``MetricsTracker`` measures Domain Entropy, Reasoning
Mode Entropy and Cumulative Action Complexity (docs/metrics.md); ``make_strategy`` builds the controller;
``export(run, out, options=ExportOptions(...))`` and ``check_export`` are ``tdscaling export`` (docs/export.md).

Imports are lazy (PEP 562): the ``tdscaling`` command lives in this package.
"""

import importlib
from typing import TYPE_CHECKING, Any

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

_EXPORTS = {
    "check_export": "tdscaling.synth._template_check",
    "Decision": "tdscaling.synth._evolution",
    "entropy": "tdscaling.synth._metrics",
    "EvolveSettings": "tdscaling.synth._evolution",
    "export": "tdscaling.synth._export",
    "ExportOptions": "tdscaling.synth._export_options",
    "ExportResult": "tdscaling.synth._export",
    "feasible_modes": "tdscaling.synth._modes",
    "make_strategy": "tdscaling.synth._evolution",
    "measure": "tdscaling.synth._metrics",
    "MetricsTracker": "tdscaling.synth._metrics",
    "normalized_entropy": "tdscaling.synth._metrics",
    "observed_mode": "tdscaling.synth._modes",
    "openai_row": "tdscaling.synth._export_rows",
    "Planner": "tdscaling.synth._planner",
    "PlanningFailure": "tdscaling.synth._planner",
    "RoundMetrics": "tdscaling.synth._metrics",
    "RunConfig": "tdscaling.synth._run",
    "RunResult": "tdscaling.synth._run",
    "sharegpt_row": "tdscaling.synth._export_rows",
    "synth_run": "tdscaling.synth._run",
    "SynthRun": "tdscaling.synth._run",
    "Task": "tdscaling.synth._evolution",
    "TemplateReport": "tdscaling.synth._template_check",
    "write_report": "tdscaling.synth._report",
}

__all__ = [
    "Decision",
    "EvolveSettings",
    "ExportOptions",
    "ExportResult",
    "MetricsTracker",
    "Planner",
    "PlanningFailure",
    "RoundMetrics",
    "RunConfig",
    "RunResult",
    "SynthRun",
    "Task",
    "TemplateReport",
    "check_export",
    "entropy",
    "export",
    "feasible_modes",
    "make_strategy",
    "measure",
    "normalized_entropy",
    "observed_mode",
    "openai_row",
    "sharegpt_row",
    "synth_run",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
