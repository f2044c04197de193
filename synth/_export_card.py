"""The dataset card (``README.md``) of a folder export: the YAML header the Hub and ``datasets`` read, and a
body that says how the data was made, what the conversations look like, what was rejected, and how to
verify a row.

The header's ``configs`` name the data files, so ``datasets.load_dataset(folder)`` needs no arguments. Its
``chunksize`` makes datasets < 4.7 read the JSON Lines in one piece: they infer the Arrow schema per 10 MB
chunk and fail on the second chunk when tool arguments differ in shape (measured with 3.6 and 4.0; see
docs/export.md). ``dataset_info.features`` is declared for the ShareGPT layout, whose columns are all fixed;
the OpenAI layout's tool-call arguments have a different shape per tool, which only datasets >= 4.7 can hold
exactly (its ``Json`` type, inferred when nothing is declared; declaring a schema there would pad every row
with the keys of all tools), so its columns are described in the body instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ._export_options import ExportOptions
from ._export_shape import RunFacts, Shape
from ._report import markdown_table, reason_meaning

MARK = "<!-- written by tdscaling export -->"  # how a later export knows it may replace this folder
DATA_JSONL = "data/train.jsonl"
DATA_PARQUET = "data/train.parquet"
MIB = 1 << 20

_METADATA_FIELDS = (("task", "string"), ("round", "int64"), ("blueprint_id", "string"), ("cluster_id", "string"),
                    ("domains", "list"), ("planned_mode", "string"), ("observed_mode", "string"),
                    ("tool_path", "list"), ("turns", "int64"), ("tool_errors", "int64"), ("seed", "int64"),
                    ("assistant_model", "string"), ("user_model", "string"))


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` rows."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def _sharegpt_features() -> list[str]:
    lines = ["dataset_info:", "  features:", "  - name: id", "    dtype: string", "  - name: conversations",
             "    list:", "    - name: from", "      dtype: string", "    - name: value", "      dtype: string",
             "  - name: system", "    dtype: string", "  - name: tools", "    dtype: string",
             "  - name: metadata", "    struct:"]
    for name, kind in _METADATA_FIELDS:
        lines += [f"    - name: {name}", "      list: string" if kind == "list" else f"      dtype: {kind}"]
    return lines


def yaml_header(*, rows: int, options: ExportOptions, jsonl_bytes: int, pretty_name: str) -> str:
    """The card's YAML front matter (every string JSON-quoted, which YAML reads as is)."""
    chunk = max(10 * MIB, -(-(jsonl_bytes + 1) // MIB) * MIB)
    lines = ["---", f"license: {json.dumps(options.license)}", "language:", "- en",
             f"pretty_name: {json.dumps(pretty_name)}", "task_categories:", "- text-generation", "tags:",
             *[f"- {t}" for t in ("tool-use", "function-calling", "agents", "mcp", "synthetic", "tdscaling")],
             "size_categories:", f"- {size_category(rows)}", "configs:", "- config_name: default",
             "  data_files:", "  - split: train", f"    path: {DATA_JSONL}", f"  chunksize: {chunk}"]
    if options.fmt == "sharegpt":
        lines += _sharegpt_features()
    return "\n".join([*lines, "---"])


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _histogram(counts: Counter[int], *, unit: str) -> list[str]:
    total = sum(counts.values())
    rows = [(k, v, _share(v, total)) for k, v in sorted(counts.items())]
    return markdown_table((unit, "rows", "share"), rows)


def _distribution(counts: Mapping[str, float], title: str, *, top: int = 40) -> list[str]:
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows: list[Sequence[object]] = [(f"`{k}`", _number(v), _share(v, total)) for k, v in ranked[:top]]
    if len(ranked) > top:
        rest = sum(v for _, v in ranked[top:])
        rows.append((f"({len(ranked) - top} more)", _number(rest), _share(rest, total)))
    return markdown_table((title, "rows", "share"), rows)


def _number(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _mean(counts: Counter[int]) -> float:
    n = sum(counts.values())
    return sum(k * v for k, v in counts.items()) / n if n else 0.0


def _usage(options: ExportOptions) -> list[str]:
    if options.fmt == "sharegpt":
        return ["```python", "from datasets import load_dataset", "", 'ds = load_dataset("PATH/TO/THIS/FOLDER", '
                'split="train")', "```", "",
                "LLaMA-Factory: a `dataset_info.json` entry with `\"formatting\": \"sharegpt\"`, `\"columns\": "
                "{\"messages\": \"conversations\", \"system\": \"system\", \"tools\": \"tools\"}`. Turns "
                "alternate human/observation and gpt/function_call; a function_call with text beside the call "
                "is written `TEXT\\n<tool_call>JSON</tool_call>`, which LLaMA-Factory >= 0.9.5 reads with the "
                "templates that keep its default `tool_call_words`; parallel results are joined with "
                "`\\n</tool_response>\\n<tool_response>\\n` as its own converter does."]
    old = ("With datasets < 4.7 (which has no `Json` type) rows load, but every call's `arguments` object comes "
           "back with the keys of all tools (`None` where absent), whole numbers as floats where a name is "
           "also a float elsewhere, and date strings as `datetime`: export with `--arguments string`, or use "
           "`--format sharegpt` for LLaMA-Factory.") if options.arguments == "object" else (
           "Arguments are JSON strings (`--arguments string`): rows read back identically in every datasets "
           "release; parse them (`json.loads`) before a template that wants objects (Qwen2.5, Llama-3.1).")
    return ["```python", "import json", "from datasets import load_dataset", "",
            'ds = load_dataset("PATH/TO/THIS/FOLDER", split="train")',
            'tools = json.loads(ds[0]["tools"])   # the tool list, stored as one JSON string per row', "```", "",
            "TRL's `SFTTrainer` takes the folder as it is: it reads `messages` and `json.loads` the `tools` "
            "string itself. " + old]


def _columns(options: ExportOptions) -> list[str]:
    conversation = ("`conversations`: a list of `{from, value}` turns (human, gpt, function_call, observation); "
                    "`system`: the system prompt" if options.fmt == "sharegpt" else
                    "`messages`: OpenAI chat messages: system, user, assistant (with `tool_calls`, each "
                    "`{id, type, function: {name, arguments}}`, arguments as JSON "
                    f"{'objects' if options.arguments == 'object' else 'strings'}), tool (with `tool_call_id` "
                    "and `name`), and a final assistant answer"
                    + ("; parallel calls are split into consecutive single-call turns"
                       if options.parallel_calls == "split" else ""))
    return ["- `id`: the trajectory id.", f"- {conversation}.",
            "- `tools`: the tools the assistant was offered, as one JSON string (tool schemas of different "
            "shapes do not fit one Arrow type).",
            "- `metadata`: " + ", ".join(f"`{n}`" for n, _ in _METADATA_FIELDS) + " (where the row came from; "
            "not `labels`, a name trainers reserve for token labels)."]


def _provenance(facts: RunFacts) -> list[str]:
    manifest = facts.manifest
    config = manifest.get("config") or {}
    rows = [(f"`{k}`", json.dumps(v) if not isinstance(v, str) else v) for k, v in config.items()]
    out = ["Configuration of `tdscaling synth run` (from the run's `manifest.json`):", "",
           *markdown_table(("setting", "value"), rows), ""]
    offline = "scripted (offline)"
    models = f"assistant `{config.get('model') or offline}`, user `{config.get('user_model') or offline}`"
    out += [f"Models: {models}. Seed: {manifest.get('seed', config.get('seed'))}. Started: "
            f"{manifest.get('started', 'unknown')}.", ""]
    versions = manifest.get("versions") or {}
    if versions:
        out += ["Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", ""]
    catalog = manifest.get("catalog") or {}
    if catalog:
        out += ["Domain catalog (each domain file's digest; a resume or a re-verification needs the same):", "",
                *markdown_table(("domain", "digest"), [(f"`{k}`", f"`{v}`") for k, v in sorted(catalog.items())]),
                ""]
    return out


def _diversity(rounds: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rounds:
        return ["The run has finished no round yet.", ""]
    last = rounds[-1]
    out = [f"After {last.get('round')} rounds (cumulative, formulas in tdscaling's docs/metrics.md): "
           f"normalized domain entropy {last.get('domain_entropy_norm', 0):.3f} over "
           f"{last.get('domains_available')} domains, normalized reasoning-mode entropy "
           f"{last.get('mode_entropy_norm', 0):.3f} over {last.get('modes_available')} modes, cumulative action "
           f"complexity {last.get('cac', 0):.1f} ({last.get('cac_mean', 0):.2f} per trajectory), "
           f"{last.get('distinct_paths')} distinct tool paths, tool coverage {last.get('tool_coverage', 0):.1%}.",
           ""]
    head = ("round", "accepted", "H_D norm", "H_M norm", "CAC/traj", "distinct paths", "tool coverage")
    rows = [(r.get("round"), r.get("accepted"), float(r.get("domain_entropy_norm", 0)),
             float(r.get("mode_entropy_norm", 0)), f"{r.get('cac_mean', 0):.2f}", r.get("distinct_paths"),
             f"{r.get('tool_coverage', 0):.1%}") for r in rounds]
    return [*out, *markdown_table(head, rows), ""]


def _shape(shape: Shape) -> list[str]:
    n = shape.rows
    out = [f"{n} conversations; per conversation {_mean(shape.user_turns):.2f} user turns and "
           f"{_mean(shape.tool_calls):.2f} tool calls on average; {shape.characters / max(1, n):.0f} characters "
           "of message text.", "",
           f"- Parallel calls: {shape.parallel_messages} of {shape.call_messages} assistant messages with tool "
           f"calls ({_share(shape.parallel_messages, shape.call_messages)}), in {shape.rows_with_parallel} "
           f"conversations ({_share(shape.rows_with_parallel, n)}).",
           f"- Code execution (the sandbox's `execute_code`): {shape.code_calls} of {shape.calls} calls "
           f"({_share(shape.code_calls, shape.calls)}), in {shape.rows_with_code} conversations "
           f"({_share(shape.rows_with_code, n)}).",
           f"- Conversations with a tool error the assistant recovered from: {shape.rows_with_tool_errors} "
           f"({_share(shape.rows_with_tool_errors, n)}); spanning two domains: {shape.cross_domain_rows} "
           f"({_share(shape.cross_domain_rows, n)}).",
           f"- Distinct tools called: {len(shape.tools)}.", "",
           "User turns per conversation:", "", *_histogram(shape.user_turns, unit="user turns"), "",
           "Tool calls per conversation:", "", *_histogram(shape.tool_calls, unit="tool calls"), "",
           "Reasoning modes (observed):", "", *_distribution(shape.modes, "mode"), "",
           "Domains (a conversation over k domains counts 1/k to each):", "",
           *_distribution(shape.domains, "domain"), ""]
    return out


def _funnel(facts: RunFacts) -> list[str]:
    f = facts.funnel
    episodes = f.accepted + f.rejected
    out = [f"{f.accepted + f.rejected + f.unplannable} tasks: {f.unplannable} could not be planned on any cluster "
           f"tried; {episodes} episodes ran and were replayed by the verifier: {f.accepted} accepted (these rows), "
           f"{f.rejected} rejected ({_share(f.rejected, episodes)}). A rejection can carry several reasons.", ""]
    if f.rejected_reasons:
        out += ["Rejected episodes (`rejected.jsonl` of the run):", "",
                *markdown_table(("reason", "episodes", "meaning"),
                                [(f"`{k}`", v, reason_meaning(k)) for k, v in f.rejected_reasons.most_common()]),
                ""]
    if f.unplannable_reasons:
        out += ["Tasks that could not be planned (`failures.jsonl`), by the last attempt's reason:", "",
                *markdown_table(("reason", "tasks", "meaning"),
                                [(f"`{k}`", v, reason_meaning(f"planning:{k}"))
                                 for k, v in f.unplannable_reasons.most_common()]), ""]
    return out


def _verify(options: ExportOptions) -> list[str]:
    select = ".metadata.task"
    return ["Every row can be judged again by replaying its tool calls on a fresh copy of its world "
            "(`tdscaling`'s verifier: recorded tool results, final state, answer facts, ids). `verify/` holds "
            "the blueprints and clusters of these rows:", "",
            "```bash",
            "pip install tdscaling",
            "TASK=$(jq -r 'select(.id == \"ROW_ID\") | " + select + "' data/train.jsonl)",
            "jq -c --arg t \"$TASK\" 'select(.task == $t) | .blueprint' verify/blueprints.jsonl > blueprint.json",
            "jq -c 'select(.id == \"ROW_ID\")' data/train.jsonl > row.json",
            "tdscaling episode verify --blueprint blueprint.json --trajectory row.json --clusters "
            "verify/clusters.jsonl",
            "```", "",
            "It prints `accepted`, or `rejected` with reason codes." + (
                " `episode verify` reads the OpenAI layout (`messages`); a ShareGPT row is checked through the "
                "same run exported with `--format openai`." if options.fmt == "sharegpt" else "")]


def render_card(*, facts: RunFacts, shape: Shape, options: ExportOptions, jsonl_bytes: int, run_name: str) -> str:
    """The whole ``README.md``."""
    pretty = f"tdscaling tool-use trajectories ({run_name})"
    export_flags = (f"`--format {options.fmt}`" + (f" `--arguments {options.arguments}`" if options.fmt == "openai"
                                                   else "") + f" `--parallel-calls {options.parallel_calls}`"
                    + (" `--parquet`" if options.parquet else ""))
    files = [f"- `{DATA_JSONL}`: the rows, one JSON object per line (the `default` config)."]
    if options.parquet:
        files.append(f"- `{DATA_PARQUET}`: the same rows as Parquet, written with pyarrow, read with "
                     f'`load_dataset("parquet", data_files="FOLDER/{DATA_PARQUET}", split="train")`. Every '
                     "datasets release from 3.6 reads it the same way: one Arrow struct per column, so absent "
                     "keys read back as `None` (`trl.trainer.utils.remove_none_values` strips them). It is not "
                     "a config of this card: datasets picks one file format for all configs of a folder.")
    files.append("- `verify/blueprints.jsonl`, `verify/clusters.jsonl`: what `tdscaling episode verify` needs to "
                 "judge a row again.")
    body = [f"# {pretty}", "", MARK, "",
            f"{shape.rows} multi-turn conversations in which an assistant serves a user through MCP tools of "
            "stateful, simulated business services (Business Clusters), made by `tdscaling synth run` and "
            "exported with `tdscaling export` " + export_flags + ". Every conversation was replayed on a fresh "
            "copy of its world and accepted by the verifier; a row is never a raw model transcript.", "",
            "## Use", "", *_usage(options), "",
            "## Files", "", *files, "", "## Columns", "", *_columns(options), "",
            "## How the data was made", "", *_provenance(facts),
            "## Diversity", "", *_diversity(facts.rounds),
            "## Shape of the conversations", "", *_shape(shape),
            "## Rejection funnel", "", *_funnel(facts),
            "## Verify a row", "", *_verify(options), "",
            "## License", "", f"`{options.license}` (chosen at export with `--license`). Text written by a "
            "hosted model may also be subject to that provider's terms.", ""]
    header = yaml_header(rows=shape.rows, options=options, jsonl_bytes=jsonl_bytes, pretty_name=pretty)
    return header + "\n" + "\n".join(body)
