"""Chat-template rendering and a tiny randomly initialised model, built locally (nothing from a hub)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SPECIAL = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]


def trl_template(name: str) -> str:
    """A chat template as TRL ships it (``trl/chat_templates/NAME.jinja``)."""
    spec = importlib.util.find_spec("trl")
    assert spec is not None and spec.submodule_search_locations, "trl is not installed: pip install -e '.[dev]'"
    return (Path(spec.submodule_search_locations[0]) / "chat_templates" / f"{name}.jinja").read_text()


def word_tokenizer(template: str, texts: Sequence[str] = (), *, vocab_size: int = 4000) -> Any:
    """A whitespace word-level tokenizer trained on ``texts`` (or an empty vocabulary), carrying ``template``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(list(texts) or [" ".join(SPECIAL)],
                            trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=SPECIAL))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="<|im_end|>")
    tokenizer.chat_template = template
    return tokenizer


def tiny_llama(tokenizer: Any) -> Any:
    """A one-layer Llama with 32-wide hidden states, randomly initialised (seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    return LlamaForCausalLM(config)
