"""The exported folder trains as it is: TRL recognises the rows, renders their tool calls with object arguments,
and its SFTTrainer runs on them (two steps of a tiny random model on the CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_model import tiny_llama, trl_template, word_tokenizer


def test_trl_reads_the_rows_as_conversations_and_renders_each_call_with_object_arguments(
        folders: dict[str, Path]) -> None:
    import datasets
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    ds = datasets.load_dataset(str(folders["objects"]), split="train")
    tokenizer = word_tokenizer(trl_template("qwen2_5"))
    calls = 0
    for row in ds.select(range(60)):
        assert is_conversational(row)
        text = maybe_apply_chat_template({"messages": row["messages"]}, tokenizer,
                                         tools=json.loads(row["tools"]))["text"]
        for m in row["messages"]:
            for tc in m.get("tool_calls") or []:
                rendered = json.dumps({"name": tc["function"]["name"], "arguments": tc["function"]["arguments"]},
                                      ensure_ascii=False)
                assert rendered in text, rendered
                calls += 1
        assert '"arguments": "' not in text
    assert calls > 100


@pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")  # transformers, via TRL
def test_sft_trainer_runs_two_steps_on_the_export_and_would_crash_on_a_labels_column(
        folders: dict[str, Path], tmp_path: Path) -> None:
    import datasets
    from trl import SFTConfig, SFTTrainer

    ds = datasets.load_dataset(str(folders["objects"]), split="train").select(range(8))
    template = trl_template("qwen2_5")
    carrier = word_tokenizer(template)
    texts = [carrier.apply_chat_template(r["messages"], tools=json.loads(r["tools"]), tokenize=False) for r in ds]
    tokenizer = word_tokenizer(template, texts)
    args = SFTConfig(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=2, max_length=512,
                     logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0)
    trainer = SFTTrainer(model=tiny_llama(tokenizer), args=args, train_dataset=ds, processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 2
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    # the column's old name: trainers take `labels` as token labels
    renamed = ds.rename_column("metadata", "labels")
    with pytest.raises(TypeError, match="unhashable type: 'slice'"):
        SFTTrainer(model=tiny_llama(tokenizer), args=args, train_dataset=renamed, processing_class=tokenizer)
