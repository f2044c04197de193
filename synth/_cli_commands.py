"""Commands of tdscaling.synth for the ``tdscaling`` CLI: ``synth run``, ``demo`` and ``export``.

Each parses its flags, calls one public function (``synthesize``, ``demo``, ``export``) and shows the result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from tdscaling.client.cli import ApiKeyOpt
from tdscaling.common import add_commands, fail, usage_errors

if TYPE_CHECKING:
    from ._run import RoundProgress, RunResult

StrategyOpt = Literal["evolve", "uniform", "quantity"]


def _writable_dir(path: Path, flag: str) -> None:
    """A directory the command will write in, checked before any work starts."""
    from tdscaling.common import check_output_dir

    with usage_errors():
        check_output_dir(path, flag=flag)


@contextmanager
def _progress(per_round: int) -> Iterator[Callable[[RoundProgress], None]]:
    """A live progress display on a terminal (a whole line per round otherwise), as an ``on_progress``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    live = sys.stderr.isatty()
    with Progress(TextColumn("[bold]round {task.fields[round]}[/]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("accepted {task.fields[acc]} · rejected {task.fields[rej]} · "
                             "unplannable {task.fields[fail]} · H_D {task.fields[hd]} · H_M {task.fields[hm]}"),
                  TimeElapsedColumn(), console=console, disable=not live, transient=False) as bar:
        task = bar.add_task("run", total=per_round, round="1", acc=0, rej=0, fail=0, hd="-", hm="-")

        def on_progress(p: RoundProgress) -> None:
            if p.metrics:
                bar.update(task, hd=f"{p.metrics.domain_entropy_norm:.3f}", hm=f"{p.metrics.mode_entropy_norm:.3f}")
            bar.update(task, completed=p.done, total=p.total, round=f"{p.round}/{p.rounds}", acc=p.accepted,
                       rej=p.rejected, fail=p.failed)
            if p.metrics and not live:  # one whole line per round for logs: never wrapped at the console's width
                m = p.metrics
                console.print(f"round {p.round}/{p.rounds}: {p.accepted} accepted, {p.rejected} rejected, "
                              f"{p.failed} unplannable; cumulative H_D {m.domain_entropy_norm:.3f} "
                              f"H_M {m.mode_entropy_norm:.3f} CAC {m.cac:.0f} paths {m.distinct_paths}",
                              soft_wrap=True, highlight=False)

        yield on_progress


@contextmanager
def _reported(out: Path) -> Iterator[None]:
    """A caller's mistake as one line; refused credentials with the flag to set and how to continue the run."""
    from tdscaling.client import ModelAuthError
    from tdscaling.client.cli import auth_failure_line

    try:
        with usage_errors():
            yield
    except ModelAuthError as e:  # the run stopped at its first model call; what it wrote is resumable
        fail(f"{auth_failure_line(e)}; then continue the run with --resume --out {out}")


def _summary(result: RunResult) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console() if sys.stdout.isatty() else Console(width=120)
    table = Table(title="diversity over rounds (cumulative)")
    for col in ("round", "accepted", "rejected", "H_D norm", "H_M norm", "CAC", "CAC/traj", "distinct paths",
                "tool coverage"):
        table.add_column(col, justify="right")
    for m in result.rounds:
        table.add_row(str(m.round), str(m.accepted), str(m.rejected), f"{m.domain_entropy_norm:.3f}",
                      f"{m.mode_entropy_norm:.3f}", f"{m.cac:.0f}", f"{m.cac_mean:.1f}", str(m.distinct_paths),
                      f"{m.tool_coverage:.1%}")
    con.print(table)
    rate = result.accepted / max(1, result.accepted + result.rejected)
    con.print(f"{result.accepted} trajectories accepted ({rate:.0%} of episodes), {result.failed} tasks could not be "
              f"planned, in {result.seconds:.0f} s")
    con.print(f"dataset: {result.out / 'trajectories.jsonl'}")
    con.print(f"report:  {result.out / 'report.md'}  (plot: {result.out / 'metrics.png'})")
    con.print(f"export:  tdscaling export {result.out} --format openai -o {result.out / 'dataset'}/")


def synth_run_cmd(
    out: Annotated[Path, typer.Option("--out", help="The run directory (created; must be empty unless --resume).")],
    rounds: Annotated[int, typer.Option("--rounds", min=1)] = 4,
    per_round: Annotated[int, typer.Option("--per-round", min=1, help="Episodes planned per round.")] = 50,
    model: Annotated[str | None, typer.Option("--model", help="litellm model for the assistant "
                                              "(default: the offline scripted assistant).")] = None,
    user_model: Annotated[str | None, typer.Option("--user-model", help="litellm model for the user "
                                                   "(default: the scripted user).")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="OpenAI-compatible endpoint.")] = None,
    api_key: ApiKeyOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 8,
    strategy: Annotated[StrategyOpt, typer.Option("--strategy")] = "evolve",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    clusters: Annotated[Path | None, typer.Option("--clusters", help="Start from these clusters (JSON Lines).")] = None,
    domains: Annotated[str | None, typer.Option("--domains", help="Comma-separated domain names.")] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra domain directories.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    task_time_s: Annotated[float, typer.Option("--task-time-s", min=0.001, max=86_400,
                                               help="Seconds for one task's model calls (goal rewrite and "
                                                    "conversation); a call still running then is cancelled and "
                                                    "the task rejected with time_limit.")] = 300.0,
) -> None:
    """Synthesize verified trajectories in rounds, steering toward the long tail."""
    import warnings

    from pydantic import SecretStr

    from tdscaling.servers import Catalog

    from ._run_config import RunConfig
    from ._synthesize import synthesize

    if clusters and domains:
        fail("give --clusters or --domains, not both")
    if clusters and not clusters.is_file():
        fail(f"{clusters}: no such clusters file")
    _writable_dir(out, "--out")
    config = RunConfig(rounds=rounds, per_round=per_round, strategy=strategy, seed=seed, concurrency=concurrency,
                       model=model, user_model=user_model, api_base=api_base,
                       domains=[d.strip() for d in domains.split(",") if d.strip()] if domains else None,
                       clusters_file=str(clusters.resolve()) if clusters else None, task_time_s=task_time_s,
                       api_key=SecretStr(api_key) if api_key is not None else None)
    if config.model or config.user_model:
        # A run that stops (a refused key) cancels the other episodes' calls in flight; litellm then drops their
        # coroutines unawaited and Python prints a RuntimeWarning per call under the one-line error.
        warnings.filterwarnings("ignore", message=r"coroutine '.*acompletion' was never awaited",
                                category=RuntimeWarning)
    with _reported(out), _progress(per_round) as on_progress:
        result = synthesize(config, out, resume=resume, on_progress=on_progress, catalog=Catalog.load(catalog or ()))
    _summary(result)


def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the demo run.")] = Path("tdscaling-demo"),
    rounds: Annotated[int, typer.Option("--rounds", min=1)] = 6,
    per_round: Annotated[int, typer.Option("--per-round", min=1)] = 100,
) -> None:
    """A small offline run (no API key, no network): a verified dataset, a diversity report and a plot."""
    from ._synthesize import demo

    _writable_dir(out, "--out")
    with _reported(out), _progress(per_round) as on_progress:
        result = demo(out, rounds=rounds, per_round=per_round, on_progress=on_progress)
    _summary(result)


def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (the --out of synth run or demo).")],
    fmt: Annotated[Literal["openai", "sharegpt"], typer.Option("--format")] = "openai",
    output: Annotated[str, typer.Option(
        "-o", "--output", help="A JSON Lines file, or a folder (an existing directory, or a path ending in /): a "
        "Hugging Face dataset folder with its card, which datasets.load_dataset(folder) reads.")] = "train.jsonl",
    arguments: Annotated[Literal["object", "string"], typer.Option(
        "--arguments", help="Tool-call arguments as JSON objects (TRL, Qwen2.5, Llama-3.1) or JSON strings "
        "(DeepSeek-V3's template).")] = "object",
    parallel_calls: Annotated[Literal["keep", "split"], typer.Option(
        "--parallel-calls", help="Keep parallel calls in one turn, or split them into consecutive single-call "
        "turns (Llama-3.1's template takes one call per turn).")] = "keep",
    parquet: Annotated[bool, typer.Option("--parquet", help="Also write data/train.parquet (folder only).")] = False,
    license_id: Annotated[str, typer.Option("--license", help="The dataset card's license.")] = "apache-2.0",
    check_template: Annotated[str | None, typer.Option(
        "--check-template", metavar="NAME|FILE", help="First render every row through a chat template (one TRL "
        "ships, such as qwen2_5, qwen3, llama3_1; or a Jinja file); write nothing and exit 1 if a row fails or "
        "double-encodes its arguments. Needs tdscaling[train].")] = None,
) -> None:
    """Export accepted trajectories for training: OpenAI chat format or ShareGPT, as a file or a dataset folder."""
    from tdscaling.common import check_output_dir, check_output_file

    from ._export import export
    from ._export_options import ExportOptions
    from ._template_check import TemplateCheckFailed

    options = ExportOptions(fmt=fmt, arguments=arguments, parallel_calls=parallel_calls, parquet=parquet,
                            license=license_id, check_template=check_template)
    target = Path(output)
    folder = output.endswith(("/", os.sep)) or target.is_dir()
    with usage_errors():
        (check_output_dir if folder else check_output_file)(target, flag="-o")
    try:
        with usage_errors():
            result = export(run_dir, target, options=options, folder=folder)
    except TemplateCheckFailed as e:
        print(e.report.summary(), *e.report.details(), "nothing written", sep="\n", file=sys.stderr)
        raise typer.Exit(1) from None
    if result.template is not None:
        print(result.template.summary(), file=sys.stderr)
    what = "dataset folder" if result.folder else "file"
    print(f"wrote {result.rows} rows to {result.path} ({fmt}, {what}, {result.data_bytes / 1e6:.1f} MB of rows)",
          file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add ``synth run``, ``demo`` and ``export`` to ``app``."""
    add_commands(app, {"run": synth_run_cmd}, group="synth", help="Synthesize trajectories.")
    add_commands(app, {"demo": demo_cmd, "export": export_cmd})
