"""mtp eval on state machines (accuracy per state, confusion over states and refusals) and multi-classifiers
(per-label accuracy, exact match, a confusion matrix per label), checked against figures counted here."""

from __future__ import annotations

from collections import Counter

import pytest

from model_train_protocol.eval import CaseResult, choice_scores
from model_train_protocol.rules import render_protocol

UNK = "<UNK>"


def case(instruction="sm", kind="state_machine", bad=False, refused=False, expected_state=None, predicted_state=None,
         expected_labels=None, predicted_labels=None):
    return CaseResult(instruction=instruction, expected_final=UNK if bad else "<NON>",
                      predicted_final=UNK if refused else "<NON>", bad_prompt=bad, refused=refused, expected_text="",
                      predicted_text="", similarity=0.0, seconds=0.0, new_tokens=0, kind=kind,
                      expected_state=expected_state, predicted_state=predicted_state,
                      expected_labels=expected_labels, predicted_labels=predicted_labels)


def test_a_case_is_right_only_with_its_state():
    assert case(expected_state="Idle", predicted_state="Idle").correct
    assert not case(expected_state="Idle", predicted_state="Running").correct
    assert not case(expected_state="Idle", refused=True).correct
    assert case(bad=True, refused=True).correct
    # A threshold replay: a good prompt stays right below its confidence, and is refused above it.
    right = CaseResult(**{**case(expected_state="Idle", predicted_state="Idle").__dict__, "confidence": 0.5})
    assert right.correct_at(0.4) and not right.correct_at(0.6)


def test_state_scores_count_per_state_and_confuse_states_and_refusals():
    pairs = [("Idle", "Idle"), ("Idle", "Running"), ("Running", "Running"), ("Running", UNK), ("Hiding", "Idle"),
             (UNK, UNK), (UNK, "Hiding")]
    results = [case(bad=e == UNK, refused=p == UNK, expected_state=None if e == UNK else e,
                    predicted_state=None if p == UNK else p) for e, p in pairs]
    scores = choice_scores(results)["sm"]
    labels = scores["confusion"]["labels"]
    assert labels[-1] == UNK and set(labels) == {e for e, _ in pairs} | {p for _, p in pairs}
    counted = Counter(pairs)
    assert scores["confusion"]["counts"] == [[counted[(a, b)] for b in labels] for a in labels]
    for state in {e for e, _ in pairs}:
        mine = [p == e for e, p in pairs if e == state]
        assert scores["per_state"][state] == {"cases": len(mine), "correct": sum(mine),
                                              "accuracy": round(sum(mine) / len(mine), 4)}
    good = [e == p for e, p in pairs if e != UNK]
    assert scores["accuracy"] == round(sum(good) / len(good), 4)


def test_label_scores_count_per_label_and_the_whole_dict():
    expected = [{"a": "x", "b": "p"}, {"a": "y", "b": "p"}, {"a": "y", "b": "q"}, {"a": "x", "b": "q"}]
    predicted = [{"a": "x", "b": "p"}, {"a": "x", "b": "p"}, None, {"a": "x", "b": "p"}]
    results = [case("mc", "multi_classification_machine", refused=p is None, expected_labels=e, predicted_labels=p)
               for e, p in zip(expected, predicted)]
    scores = choice_scores(results)["mc"]
    assert scores["exact_match"] == round(sum(e == p for e, p in zip(expected, predicted)) / 4, 4)
    for label in ("a", "b"):
        pairs = [(e[label], p[label] if p else UNK) for e, p in zip(expected, predicted)]
        right = sum(a == b for a, b in pairs)
        got = scores["per_label"][label]
        assert (got["cases"], got["correct"], got["accuracy"]) == (4, right, round(right / 4, 4))
        labels = got["confusion"]["labels"]
        assert got["confusion"]["counts"] == [[Counter(pairs)[(a, b)] for b in labels] for a in labels]


torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models answer as fast on one thread, and far faster when the machine is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["npc", "tags"])
def test_evaluate_reports_the_figures_counted_from_the_models_own_answers(name):
    from model_train_protocol.eval import choice_tables, evaluate
    from infer.tiny import PROTOCOLS, choice_model as model_of

    from rich.console import Console

    protocol = PROTOCOLS[name]()
    model = model_of(name)
    report = evaluate(model, protocol, out_dir=None, split="all")
    # Independently: answer every rendered example and count.
    spec = model.spec()
    pairs, exact = [], []
    per_label: dict[str, list[tuple[str, str]]] = {}
    for example in render_protocol(protocol, guardrails=True):
        answer = model.complete(spec, example.prompt)
        expected_text = example.completion.split("\n", 1)[0]
        if spec.states is not None:
            pairs.append((UNK if example.guardrail else expected_text, UNK if answer.guardrail else answer.state))
        else:
            import ast

            want = ast.literal_eval(expected_text)
            exact.append(answer.labels == want)
            for label, value in want.items():
                per_label.setdefault(label, []).append((value, answer.labels[label]))
    scores = report["summary"]["choices"][spec.name]
    if spec.states is not None:
        labels = scores["confusion"]["labels"]
        assert scores["confusion"]["counts"] == [[Counter(pairs)[(a, b)] for b in labels] for a in labels]
        assert sum(map(sum, scores["confusion"]["counts"])) == len(pairs)
        good = [a == b for a, b in pairs if a != UNK]
        assert scores["accuracy"] == round(sum(good) / len(good), 4)
        assert report["summary"]["final_accuracy"] == scores["accuracy"]  # the final alone would always be <NON>
    else:
        assert scores["exact_match"] == round(sum(exact) / len(exact), 4)
        for label, found in per_label.items():
            assert scores["per_label"][label]["accuracy"] == round(sum(a == b for a, b in found) / len(found), 4)
    console = Console(record=True, width=200)
    for table in choice_tables(report["summary"]):
        console.print(table)
    printed = console.export_text()
    if spec.states is not None:
        assert f"{spec.name}: per state" in printed and f"{spec.name}: states (<UNK>: refused)" in printed
    else:
        assert all(f"{spec.name}: label {label!r}" in printed for label in per_label)
