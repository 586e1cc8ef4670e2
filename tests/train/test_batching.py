"""The loss covers only the completion; batches are seeded, padded and shared fairly between ranks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.train import (IGNORE, Encoded, build_training_data, collate, encode_all, encode_example,
                                        scratch_tokenizer, step_batch, steps_per_epoch)
from model_train_protocol.model_dir import encode_text as encode
from model_train_protocol.rules import structural_strings
from model_train_protocol.errors import MTPValueError


@pytest.fixture
def setup(protocol):
    data = build_training_data(protocol, val_split=0.0)
    return data, scratch_tokenizer(data.all_text(), structural_strings(protocol), vocab_size=500)


def test_label_mask_is_minus_100_on_the_prompt_and_the_completion_elsewhere(setup):
    data, tok = setup
    for ex in data.train:
        item = encode_example(tok, ex)
        n_prompt = len(encode(tok, ex.prompt))
        assert item.labels[:n_prompt] == (IGNORE,) * n_prompt
        assert item.labels[n_prompt:] == item.input_ids[n_prompt:]
        assert IGNORE not in item.labels[n_prompt:]
        assert tok.decode(list(item.labels[n_prompt:]), skip_special_tokens=False) == ex.completion
        assert tok.decode(list(item.input_ids[:n_prompt]), skip_special_tokens=False) == ex.prompt
        assert item.labels[-1] == tok.eos_token_id


def test_guardrail_completion_is_refusal_then_unk(setup):
    data, tok = setup
    ex = next(e for e in data.train if e.guardrail)
    item = encode_example(tok, ex)
    learned = tok.decode([t for t in item.labels if t != IGNORE], skip_special_tokens=False)
    assert learned.endswith("\n<UNK>\n<EOS>")


def test_context_text_is_trained_in_full(setup):
    data, tok = setup
    items = encode_all(tok, [], data.lm_text, max_length=10_000)
    assert all(it.labels == it.input_ids for it in items)


def test_too_long_example_is_an_error(setup):
    data, tok = setup
    with pytest.raises(MTPValueError, match="max_length"):
        encode_all(tok, data.train, [], max_length=8)


def test_collate_pads_with_pad_id_and_ignored_labels():
    items = [Encoded((5, 6, 7), (IGNORE, 6, 7)), Encoded((8,), (8,))]
    batch = collate(items, pad_id=3)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 3, 3]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


@pytest.mark.parametrize("n,batch,world", [(10, 4, 1), (27, 8, 2), (5, 8, 2), (16, 4, 2)])
def test_each_epoch_covers_every_example_and_ranks_get_equal_shares(n, batch, world):
    per_epoch = steps_per_epoch(n, batch, world)
    for epoch in range(2):
        seen = []
        for step in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            shares = [step_batch(n, batch, world, r, seed=0, step=step) for r in range(world)]
            assert all(len(s) == batch for s in shares)
            seen += [i for s in shares for i in s]
        assert set(seen) == set(range(n))
    assert step_batch(n, batch, world, 0, seed=0, step=0) == step_batch(n, batch, world, 0, seed=0, step=0)
    assert [step_batch(n, batch, world, 0, 1, s) for s in range(per_epoch)] != [
        step_batch(n, batch, world, 0, 2, s) for s in range(per_epoch)] or n <= 1
