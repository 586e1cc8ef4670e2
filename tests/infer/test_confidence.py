"""Confidence of an answer, the refusal threshold, and refusing below it with the guardrail's own answer."""

from __future__ import annotations

import math

import pytest

from model_train_protocol import MTPError
from model_train_protocol.runtime import Refusal, check_threshold, choose_threshold, confidence


def stored_threshold(manifest):
    return Refusal.from_manifest(manifest).threshold


def test_confidence_is_the_probability_of_the_answer():
    assert confidence([0.5, 0.8, 1.0]) == pytest.approx(0.4)
    assert confidence([1.0, 1.0]) == 1.0
    assert confidence([]) is None


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf, "0.5", True, None])
def test_a_threshold_must_be_a_finite_number_in_0_1(bad):
    with pytest.raises(MTPError, match=r"\[0, 1\]"):
        check_threshold(bad)


def test_stored_threshold_reads_the_manifest_and_ignores_junk():
    assert stored_threshold({"mtp": {"refusal": {"threshold": 0.25}}}) == 0.25
    assert stored_threshold({"mtp": {"refusal": {"threshold": None}}}) is None
    assert stored_threshold({"mtp": {"refusal": {"threshold": 7}}}) is None
    assert stored_threshold({"mtp": []}) is None
    assert stored_threshold({}) is None


def test_choose_threshold_refuses_at_most_the_allowed_share():
    values = [0.9, 0.2, 0.8, 0.7, 0.95, 0.6, 0.85, 0.75, 0.65, 0.99]  # 10 values
    t = choose_threshold(values, max_false_refusals=0.1, cap=1.0)  # 1 of 10 may be refused
    assert sum(v < t for v in values) == 1 and t > 0.2
    t0 = choose_threshold(values, max_false_refusals=0.05, cap=1.0)  # none of 10 may be refused
    assert sum(v < t0 for v in values) == 0 and t0 > 0.19
    assert choose_threshold(values, 0.5, cap=0.3) == 0.3
    assert choose_threshold([], 0.05, cap=0.5) == 0.0


torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_below_the_threshold_a_guarded_instruction_answers_with_its_guardrail(protocol, make_model):
    name, lines = "alice_cat_alice_continue", ["Then it doesnt matter which way you go.", "Which road?"]
    free = make_model(protocol, seed=2, max_text_tokens=4).run(name, lines)
    assert free.confidence is not None and 0 <= free.confidence < 1
    assert free.candidate == free.final
    strict = make_model(protocol, seed=2, max_text_tokens=4, threshold=1.0)
    refused = strict.run(name, lines)
    assert not free.guardrail, "choose a seed whose untrained model answers instead of refusing"
    bad_output = next(iter(protocol.guardrail_map().values())).bad_output
    assert refused.guardrail and refused.final == "<UNK>" and refused.text == bad_output
    assert refused.raw == f"{bad_output}\n<UNK>\n<EOS>"
    assert refused.candidate == free.final and refused.confidence == free.confidence
    assert make_model(protocol, seed=2, max_text_tokens=4, threshold=0.0).run(name, lines).final == free.final


def test_an_unguarded_instruction_is_never_refused_by_the_threshold(protocol, make_model):
    model = make_model(protocol, seed=1, threshold=1.0)
    answer = model.run("alice_cat_alice_instruction_numeric", ["a", "b"], [[1, 2, 3], 4])
    assert not answer.guardrail and answer.final == "Madness"


def test_the_threshold_is_checked_where_it_enters(protocol, make_model):
    with pytest.raises(MTPError):
        make_model(protocol, threshold=2.0)
