"""Training examples come from the canonical renderer, split per (instruction, final) with a seed."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from model_train_protocol.rules import RenderedExample, render_protocol
from model_train_protocol.export import export_protocol, read_jsonl, stratified_split, stratum
from model_train_protocol.train import build_training_data


def test_examples_are_the_renderers_output(protocol):
    data = build_training_data(protocol, val_split=0.2, seed=3)
    rendered = list(render_protocol(protocol))
    assert sorted(e.text for e in data.train + data.val) == sorted(e.text for e in rendered)
    assert any(e.guardrail for e in data.train)
    assert data.lm_text[: len(protocol.context)] == protocol.context
    assert protocol.instructions[0].background[0] in data.lm_text


def test_no_guardrails_no_context(protocol):
    data = build_training_data(protocol, val_split=0.0, guardrails=False, context_text=False)
    assert not any(e.guardrail for e in data.train) and data.val == [] and data.lm_text == []


def test_split_is_stratified_and_keeps_every_pair_in_training(protocol):
    examples = list(render_protocol(protocol))
    train, val = stratified_split(examples, 0.3, seed=0)
    assert len(val) == max(1, round(len(examples) * 0.3))
    assert {stratum(e) for e in train} == {stratum(e) for e in examples}
    assert sorted(map(id, train + val)) == sorted(map(id, examples))


def test_split_depends_only_on_the_seed(protocol):
    examples = list(render_protocol(protocol))
    a = stratified_split(examples, 0.3, seed=1)[1]
    b = stratified_split(examples, 0.3, seed=1)[1]
    assert [e.text for e in a] == [e.text for e in b]
    others = {tuple(e.text for e in stratified_split(examples, 0.3, seed=s)[1]) for s in range(10)}
    assert len(others) > 1


def _example(instruction: str, final: str, i: int) -> RenderedExample:
    return RenderedExample(instruction=instruction, prompt=f"p{i}", completion=f"c{i}", final=final, index=i)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6),
    val_split=st.floats(min_value=0.0, max_value=0.9),
    seed=st.integers(0, 1000),
)
def test_split_properties(sizes, val_split, seed):
    examples = [_example(f"i{k}", "F", j) for k, n in enumerate(sizes) for j in range(n)]
    train, val = stratified_split(examples, val_split, seed)
    counts = Counter(e.instruction for e in train)
    assert all(counts[f"i{k}"] >= 1 for k in range(len(sizes)))
    assert len(train) + len(val) == len(examples)
    # round(N * val_split), at least one when asked for any, and less only when strata must keep their last example
    asked = 0 if val_split == 0 or len(examples) < 2 else max(1, round(len(examples) * val_split))
    assert len(val) == min(asked, len(examples) - len(sizes))


@pytest.mark.parametrize("val_split", [0.0, 0.1])
def test_validation_size(protocol, val_split):
    data = build_training_data(protocol, val_split=val_split)
    total = len(data.train) + len(data.val)
    assert len(data.val) == (max(1, round(total * val_split)) if val_split else 0)


@pytest.mark.parametrize("val_split, seed", [(0.1, 0), (0.2, 1), (0.3, 7)])
def test_training_and_export_hold_out_the_same_examples(protocol, tmp_path, val_split, seed):
    """``mtp train`` and ``mtp export`` with the same --val-split and --seed: the same validation examples."""
    data = build_training_data(protocol, val_split=val_split, seed=seed)
    export_protocol(protocol, tmp_path, "text", val_split=val_split, seed=seed)
    exported = [r["text"] for r in read_jsonl(tmp_path / "val.jsonl")]
    assert exported == [e.text for e in data.val] and exported
    assert [r["text"] for r in read_jsonl(tmp_path / "train.jsonl")] == [e.text for e in data.train]
