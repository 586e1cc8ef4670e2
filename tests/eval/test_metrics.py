"""Evaluation scores from known answers: accuracy, recall, false refusals, similarity, confusion."""

from __future__ import annotations

import pytest

from model_train_protocol.eval import confusion, summarize
from model_train_protocol.eval.metrics import score_case, similarity
from model_train_protocol.infer import Answer
from model_train_protocol.render import RenderedExample


def example(final: str, bad: bool = False, text: str = "hello there") -> RenderedExample:
    return RenderedExample("chat", "<BOS>\n...<RUN>\n", f"{text}\n{final}\n<EOS>", final, guardrail=bad)


def answer(final: str, text: str = "hello there") -> Answer:
    return Answer(text=text, final=final, final_key=final, guardrail=final == "<UNK>", tokens=4)


def case(expected: str, predicted: str, bad: bool = False, text: str = "hello there"):
    return score_case(example(expected, bad), expected, answer(predicted, text), seconds=0.01)


def test_summary_counts():
    results = [
        case("A", "A"), case("A", "B"), case("B", "B"), case("B", "<UNK>"),  # good prompts: 2 right, 1 refused
        case("<UNK>", "<UNK>", bad=True), case("<UNK>", "A", bad=True), case("<UNK>", "<UNK>", bad=True),
    ]
    s = summarize(results)
    assert (s["cases"], s["good_prompts"], s["bad_prompts"]) == (7, 4, 3)
    assert s["final_accuracy"] == 0.5
    assert s["false_refusals"] == 0.25
    assert s["guardrail_recall"] == pytest.approx(0.6667)
    assert s["overall_accuracy"] == pytest.approx(0.5714)
    assert s["response_similarity"] == 1.0 and s["exact_responses"] == 1.0
    assert s["latency_p50_s"] == 0.01 and s["tokens_per_s"] == pytest.approx(400.0)
    assert s["per_instruction"]["chat"]["cases"] == 4


def test_no_bad_prompts_means_no_recall():
    s = summarize([case("A", "A")])
    assert s["guardrail_recall"] is None and s["final_accuracy"] == 1.0


def test_similarity_of_the_response_line():
    assert similarity("abc", "abc") == 1.0
    assert similarity("", "abc") == 0.0
    r = case("A", "A", text="hello world")
    assert r.expected_text == "hello there" and 0.5 < r.similarity < 1.0


def test_confusion_matrix_puts_refusals_last():
    labels, counts = confusion([case("<UNK>", "A", bad=True), case("A", "A"), case("B", "A")])
    assert labels == ["A", "B", "<UNK>"]
    assert counts == [[1, 0, 0], [1, 0, 0], [1, 0, 0]]
