"""Files for other fine-tuning tools: the raw chat template, the tokens to add, LLaMA-Factory and axolotl configs.

The TRL tests train a tiny random model built here (no download) on each export
for two steps with the real ``trl`` and ``datasets``, and check that the loss
covers exactly the completion tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.export import (ADDED_TOKENS_FILE, AXOLOTL_FILE, CHAT_TEMPLATE, CHAT_TEMPLATE_FILE,
                                         DATASET_INFO_FILE, FORMATS, added_tokens, dataset_info, export_protocol,
                                         read_jsonl, with_system)
from model_train_protocol.rules import SPECIALS, render_protocol, structural_strings


def render_chat(messages: list[dict]) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.ext import Extension
    from jinja2 import nodes

    class Generation(Extension):  # transformers' {% generation %} tag; here a no-op block
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    env = ImmutableSandboxedEnvironment(extensions=[Generation])
    return env.from_string(CHAT_TEMPLATE).render(messages=messages)


def test_chat_template_renders_the_canonical_text_and_nothing_else() -> None:
    for example in render_protocol(build_protocol()):
        messages = [{"role": "user", "content": example.prompt}, {"role": "assistant", "content": example.completion}]
        assert render_chat(messages) == example.text
        system = [{"role": "system", "content": "Be brief."}, *messages]
        assert render_chat(system) == with_system("Be brief.", example.prompt) + example.completion


def test_chat_template_ends_every_answer_with_eos() -> None:
    assert render_chat([{"role": "user", "content": "p"}, {"role": "assistant", "content": "a"}]) == "pa<EOS>"


def test_chat_template_reads_sharegpt_turns() -> None:
    turns = [{"from": "system", "value": "s"}, {"from": "human", "value": "p"}, {"from": "gpt", "value": "a<EOS>"}]
    assert render_chat(turns) == "s\npa<EOS>"


def test_added_tokens_are_the_structural_keys_with_their_roles() -> None:
    protocol = build_protocol()
    tokens = added_tokens(protocol)
    assert (tokens["bos_token"], tokens["eos_token"], tokens["pad_token"], tokens["unk_token"]) == (
        "<BOS>", "<EOS>", "<PAD>", "<UNK>")
    assert set(tokens["additional_special_tokens"]) | {"<BOS>", "<EOS>", "<PAD>", "<UNK>"} == set(
        structural_strings(protocol))
    assert "<RUN>" in tokens["additional_special_tokens"] and "Tree_English_Cat_Talk_" in tokens["additional_special_tokens"]
    assert list(SPECIALS) == structural_strings(protocol)[:6]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_the_tool_files(tmp_path: Path, fmt: str) -> None:
    yaml = pytest.importorskip("yaml")
    result = export_protocol(build_protocol(), tmp_path, fmt, val_split=0.2, context=True)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"train.jsonl", "val.jsonl", ADDED_TOKENS_FILE, DATASET_INFO_FILE, AXOLOTL_FILE} | (
        {CHAT_TEMPLATE_FILE} if fmt in ("openai-chat", "sharegpt") else set())
    assert set(result.tool_files) == names - {"train.jsonl", "val.jsonl"}
    if fmt in ("openai-chat", "sharegpt"):
        assert (tmp_path / CHAT_TEMPLATE_FILE).read_text(encoding="utf-8") == CHAT_TEMPLATE
    info = json.loads((tmp_path / DATASET_INFO_FILE).read_text(encoding="utf-8"))
    assert set(info) == {"cheshire_cat_train", "cheshire_cat_val"}
    assert info["cheshire_cat_train"]["file_name"] == "train.jsonl"
    config = yaml.safe_load((tmp_path / AXOLOTL_FILE).read_text(encoding="utf-8"))
    assert config["datasets"][0]["path"] == "train.jsonl" and config["test_datasets"][0]["path"] == "val.jsonl"
    assert config["train_on_inputs"] is False
    assert config["tokens"] == added_tokens(build_protocol())["additional_special_tokens"]
    if fmt in ("openai-chat", "sharegpt"):
        assert config["chat_template_jinja"] == CHAT_TEMPLATE and config["datasets"][0]["roles_to_train"] == ["assistant"]


def test_llama_factory_maps_every_column_the_export_writes(tmp_path: Path) -> None:
    """Every column named in dataset_info.json exists in the file, and the system text is mapped (alpaca)."""
    for fmt in FORMATS:
        export_protocol(build_protocol(), tmp_path / fmt, fmt, context=True)
        entry = json.loads((tmp_path / fmt / DATASET_INFO_FILE).read_text(encoding="utf-8"))["cheshire_cat_train"]
        record = read_jsonl(tmp_path / fmt / "train.jsonl")[0]
        assert set(entry["columns"].values()) <= set(record), fmt
        if "tags" in entry:
            turns = record[entry["columns"]["messages"]]
            roles = {turn[entry["tags"]["role_tag"]] for turn in turns}
            assert roles == {entry["tags"][t] for t in ("system_tag", "user_tag", "assistant_tag")}
    assert dataset_info("x", "alpaca", {"train": "train.jsonl"}, system=True)["x_train"]["columns"]["system"] == "system"


@pytest.mark.parametrize("fmt", ["prompt-completion", "text"])
def test_context_is_honoured_in_formats_without_a_system_turn(tmp_path: Path, fmt: str) -> None:
    protocol = build_protocol()
    export_protocol(protocol, tmp_path / "plain", fmt)
    export_protocol(protocol, tmp_path / "ctx", fmt, context=True)
    plain, ctx = read_jsonl(tmp_path / "plain" / "train.jsonl"), read_jsonl(tmp_path / "ctx" / "train.jsonl")
    system = "\n".join(protocol.context + protocol.instructions[0].background)
    first = next(iter(ctx[0].values()))
    assert first == with_system(system, next(iter(plain[0].values())))
    assert all(rec != other for rec, other in zip(ctx, plain))


# --- the real TRL ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_tokenizer():
    pytest.importorskip("transformers")
    from model_train_protocol.train import scratch_tokenizer

    protocol = build_protocol()
    return scratch_tokenizer([e.text for e in render_protocol(protocol)], structural_strings(protocol), 400)


def _sft(tmp_path: Path, fmt: str, tokenizer, context: bool = False):
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    export_protocol(build_protocol(), tmp_path / fmt, fmt, context=context)
    data = datasets.load_dataset("json", data_files=str(tmp_path / fmt / "train.jsonl"), split="train")
    if fmt == "sharegpt":  # TRL checks assistant_only_loss before its own from/value conversion: convert first
        from trl.data_utils import maybe_convert_to_chatml

        data = data.map(maybe_convert_to_chatml, remove_columns=["conversations"])
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=2048))
    loss_option = {"openai-chat": {"assistant_only_loss": True}, "sharegpt": {"assistant_only_loss": True},
                   "prompt-completion": {"completion_only_loss": True}, "text": {}}[fmt]
    args = trl.SFTConfig(output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=4,
                         report_to="none", use_cpu=True, save_strategy="no", logging_steps=1, max_length=None,
                         disable_tqdm=True, seed=0, **loss_option)
    return trl.SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)


@pytest.mark.parametrize("fmt", ["openai-chat", "sharegpt", "prompt-completion"])
def test_trl_puts_the_loss_on_the_completion_only(tmp_path: Path, tiny_tokenizer, fmt: str) -> None:
    trainer = _sft(tmp_path, fmt, tiny_tokenizer)
    examples = list(render_protocol(build_protocol()))
    assert len(trainer.train_dataset) == len(examples)
    for row, example in zip(trainer.train_dataset, examples):
        assert tiny_tokenizer.decode(row["input_ids"]) == example.text  # the raw MTP text, no other chat format
        labels = trainer.data_collator([row])["labels"][0].tolist()
        trained = [token for token in labels if token != -100]
        assert trained == tiny_tokenizer(example.completion, add_special_tokens=False)["input_ids"]
        assert trained[-1] == tiny_tokenizer.convert_tokens_to_ids("<EOS>")
    trainer.train()
    assert trainer.state.global_step == 2


def test_trl_chat_exports_train_exactly_like_prompt_completion(tmp_path: Path, tiny_tokenizer) -> None:
    """Same tokens, same masks, same seed: openai-chat, sharegpt and prompt-completion give the same losses."""
    losses = {}
    for fmt in ("openai-chat", "sharegpt", "prompt-completion"):
        trainer = _sft(tmp_path / fmt, fmt, tiny_tokenizer, context=True)
        trainer.train()
        losses[fmt] = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses["openai-chat"]) == 2
    assert losses["sharegpt"] == pytest.approx(losses["openai-chat"])
    assert losses["prompt-completion"] == pytest.approx(losses["openai-chat"])


def test_trl_text_export_trains_every_token(tmp_path: Path, tiny_tokenizer) -> None:
    trainer = _sft(tmp_path, "text", tiny_tokenizer)
    row = trainer.train_dataset[0]
    labels = trainer.data_collator([row])["labels"][0].tolist()
    assert labels == row["input_ids"]
