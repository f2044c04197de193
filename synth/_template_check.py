"""Render exported rows through a real chat template, the way a trainer will, and report the rows that fail
or that double-encode tool-call arguments.

A template is a name of one TRL ships in ``trl/chat_templates/`` (``qwen2_5``, ``qwen3``, ``llama3_1``,
``deepseekv3``, ...) or any Jinja file. Rows are rendered with transformers' ``apply_chat_template`` (the
call TRL's SFTTrainer makes) on a tokenizer that only carries the template and the usual special tokens.
Double encoding is found with a probe: every call's arguments are replaced by a marker of the same kind (an
object, or its JSON string) and the rendered text is searched for the marker's key in escaped quotes, which
is how ``"arguments": "{\\"id\\": ...}"`` looks. transformers and trl are imported here only.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tdscaling.servers import SpecError

from ._export_options import ExportOptions
from ._export_source import rows

INSTALL = "pip install 'tdscaling[train]'"
PROBE = "__tdscaling_probe_"  # the marker's key: PROBE + call number + "__"


class TemplateCheckFailed(Exception):
    """Rows of an export fail to render through the chat template, or double-encode their arguments; nothing
    was written. ``report`` says which and why."""

    def __init__(self, report: TemplateReport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass
class TemplateReport:
    """How the rows fared: ``failed`` maps a row id to the template's error, ``double_encoded`` lists rows whose
    arguments the template wrote as an escaped JSON string."""

    template: str
    rows: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    double_encoded: list[str] = field(default_factory=list)

    @property
    def rendered(self) -> int:
        return self.rows - len(self.failed)

    @property
    def passed(self) -> bool:
        return not self.failed and not self.double_encoded

    def summary(self) -> str:
        return (f"template {self.template}: {self.rendered}/{self.rows} rows render, "
                f"{len(self.double_encoded)} double-encode tool-call arguments")

    def details(self, *, limit: int = 5) -> list[str]:
        """The first failures, grouped by error, and what would fix them."""
        lines: list[str] = []
        by_error: dict[str, list[str]] = {}
        for row_id, error in self.failed.items():
            by_error.setdefault(error, []).append(row_id)
        for error, ids in sorted(by_error.items(), key=lambda kv: -len(kv[1]))[:limit]:
            lines.append(f"{len(ids)} rows fail: {error} (e.g. {', '.join(ids[:3])})")
            if "single tool-call" in error:
                lines.append("  the template takes one call per turn: export with --parallel-calls split")
            elif "concatenate str" in error or "dict" in error:
                lines.append("  the template wants arguments as JSON strings: export with --arguments string")
            elif "items" in error or "mapping" in error:
                lines.append("  the template wants arguments as objects: export with --arguments object")
        if self.double_encoded:
            lines.append(f"{len(self.double_encoded)} rows double-encode arguments (e.g. "
                         f"{', '.join(self.double_encoded[:3])}): export with --arguments object")
        return lines


def load_template(ref: str) -> tuple[str, str]:
    """``(label, Jinja text)`` of a template file, or of a template TRL ships, by name."""
    path = Path(ref)
    if path.is_file():
        try:
            return path.name, path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(f"cannot read the template: {e}", source=ref) from None
    if "/" in ref or ref.endswith(".jinja"):
        raise SpecError("no such template file", source=ref)
    spec = importlib.util.find_spec("trl")  # found, not imported: importing TRL imports PyTorch
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"--check-template {ref} names a template TRL ships; install it ({INSTALL}) or give the "
                        "path of a Jinja file")
    shipped = Path(next(iter(spec.submodule_search_locations))) / "chat_templates"
    file = shipped / f"{ref}.jinja"
    if not file.is_file():
        names = sorted(p.stem for p in shipped.glob("*.jinja"))
        raise SpecError(f"TRL {metadata.version('trl')} ships no template '{ref}'; it has {', '.join(names)} (or "
                        "give the path of a Jinja file)")
    return ref, file.read_text(encoding="utf-8")


def _carrier() -> Any:
    """A tokenizer that only carries a chat template: ``apply_chat_template`` renders with it, offline."""
    try:
        from tokenizers import Tokenizer
        from tokenizers.models import WordLevel
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        raise SpecError(f"--check-template renders with transformers: {INSTALL}") from None
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
                                   bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def _probed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(messages)
    n = 0
    for m in out:
        for tc in m.get("tool_calls") or []:
            marker = {f"{PROBE}{n}__": "probe"}
            tc["function"]["arguments"] = marker if isinstance(tc["function"].get("arguments"), Mapping) \
                else json.dumps(marker)
            n += 1
    return out


def check_rows(rows: Iterable[Mapping[str, Any]], template: str, *, label: str) -> TemplateReport:
    """Render every OpenAI-layout row (``messages`` and a ``tools`` JSON string) through ``template``."""
    tokenizer = _carrier()

    def render(conversation: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        return str(tokenizer.apply_chat_template(conversation, tools=tools or None, tokenize=False,
                                                 chat_template=template))

    report = TemplateReport(label)
    for row in rows:
        report.rows += 1
        messages = list(row["messages"])
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else row.get("tools")
        try:
            render(messages, tools)
            probed = render(_probed(messages), tools)
        except Exception as e:  # the template is third-party code run on our data: any error is a finding
            report.failed[str(row.get("id"))] = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            continue
        if '\\"' + PROBE in probed:  # the marker's key inside an escaped string: arguments encoded twice
            report.double_encoded.append(str(row.get("id")))
    return report


def check_export(run_dir: Path, options: ExportOptions, template_ref: str) -> TemplateReport:
    """Render every row ``tdscaling export`` would write for ``run_dir`` through a template (a name TRL
    ships, or a Jinja file)."""
    if options.fmt != "openai":
        raise SpecError("--check-template renders the OpenAI layout (--format openai); LLaMA-Factory renders "
                        "ShareGPT rows with its own Python templates")
    label, template = load_template(template_ref)
    return check_rows((row for _, row in rows(run_dir, options)), template, label=label)
