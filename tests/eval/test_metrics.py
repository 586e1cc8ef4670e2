"""Evaluation scores from known answers: accuracy, recall, false refusals, per-final F1, the refusal sweep,
similarity, confusion. Every expected figure is worked out by hand from the cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_train_protocol.eval import (CaseResult, confusion, per_final_scores, refusal_auroc, refusal_curve,
                                       refusal_sweep, score_case, similarity, summarize)
from model_train_protocol.errors import MTPValueError
from model_train_protocol.infer import Answer
from model_train_protocol.rules import RenderedExample


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


def scored(expected: str, chosen: str, confidence: float | None, bad: bool = False, final: str | None = None,
           value: int | None = None, expected_value: int | None = None) -> CaseResult:
    """A case as the decoder would report it: ``chosen`` before the threshold, ``final`` after (default: same)."""
    return CaseResult(instruction="chat", expected_final=expected, predicted_final=final or chosen, bad_prompt=bad,
                      refused=(final or chosen) == "<UNK>", expected_text="", predicted_text="", similarity=1.0,
                      seconds=0.0, new_tokens=1, expected_value=expected_value, predicted_value=value,
                      confidence=confidence, candidate=chosen if final else "")


def test_a_numeric_final_is_right_only_with_its_value():
    ex = RenderedExample("chat", "<BOS>\n...<RUN>\n", "hi\nMadness_5\n<EOS>", "Madness", value=5)
    right = score_case(ex, "Madness", Answer(text="hi", final="Madness", final_key="Madness", value=5))
    wrong = score_case(ex, "Madness", Answer(text="hi", final="Madness", final_key="Madness", value=4))
    assert (right.expected_value, right.predicted_value, right.correct) == (5, 5, True)
    assert (wrong.expected_value, wrong.predicted_value, wrong.correct) == (5, 4, False)
    s = summarize([right, wrong])
    assert s["final_accuracy"] == 0.5
    # the wrong value is a miss and a false positive of Madness itself
    assert s["per_final"]["Madness"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}


def test_the_answer_s_confidence_and_candidate_reach_the_case():
    ex = example("A")
    plain = score_case(ex, "A", answer("A"))
    assert (plain.confidence, plain.candidate, plain.chosen) == (None, "", "A")
    held = score_case(ex, "A", Answer(text="no", final="<UNK>", final_key="<UNK>", guardrail=True,
                                      confidence=0.3, candidate="A"))
    assert (held.confidence, held.candidate, held.chosen, held.correct) == (0.3, "A", "A", False)
    assert held.correct_at(0.2) and not held.correct_at(0.5)


def test_per_final_precision_recall_and_macro_f1_by_hand():
    results = [
        case("A", "A"), case("A", "B"), case("B", "B"), case("B", "<UNK>"),
        case("<UNK>", "<UNK>", bad=True), case("<UNK>", "A", bad=True), case("<UNK>", "<UNK>", bad=True),
    ]
    s = per_final_scores(results)
    assert list(s["per_final"]) == ["A", "B", "<UNK>"]
    # A: 1 hit of 2 expected, 1 hit of 2 predicted (A->A, bad->A)
    assert s["per_final"]["A"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert s["per_final"]["B"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    # <UNK>: 2 bad prompts refused of 3; 3 refusals, one of them a good prompt
    assert s["per_final"]["<UNK>"] == {"support": 3, "precision": pytest.approx(0.6667), "recall": pytest.approx(0.6667),
                                       "f1": pytest.approx(0.6667)}
    assert s["macro_f1"] == pytest.approx((0.5 + 0.5 + 2 / 3) / 3, abs=1e-4)


def test_without_bad_prompts_refusal_is_no_class_and_a_final_never_predicted_has_no_precision():
    s = per_final_scores([case("A", "<UNK>"), case("B", "A"), case("A", "A")])
    assert list(s["per_final"]) == ["A", "B"]
    assert s["per_final"]["A"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert s["per_final"]["B"] == {"support": 1, "precision": None, "recall": 0.0, "f1": 0.0}
    assert s["macro_f1"] == 0.25


def test_four_case_auroc_and_one_threshold_by_hand():
    results = [scored("<UNK>", "A", 0.2, bad=True), scored("<UNK>", "A", 0.6, bad=True),
               scored("A", "A", 0.4), scored("A", "A", 0.9)]
    # bad prompts less confident than good ones in 3 of the 4 pairs (0.6 vs 0.4 is the exception)
    assert refusal_auroc(results) == 0.75
    sweep = refusal_sweep(results, threshold=0.5)
    assert sweep["at_threshold"] == {"threshold": 0.5, "off_topic_recall": 0.5, "false_refusals": 0.5,
                                     "in_scope_accuracy": 0.5}
    assert 0.5 in [row["threshold"] for row in sweep["rows"]]
    assert sweep["rows"][0] == {"threshold": 0.0, "off_topic_recall": 0.0, "false_refusals": 0.0,
                                "in_scope_accuracy": 1.0}
    # refusing only 0.2 keeps false refusals at 0: the best within 5 % on this set cuts between 0.2 and 0.4
    best = sweep["best_on_this_set"]
    assert (best["threshold"], best["off_topic_recall"], best["false_refusals"]) == (0.3, 0.5, 0.0)
    assert best["chosen_on"] == "this evaluation set"


def test_ties_count_half_and_a_chosen_refusal_is_refused_at_every_threshold():
    assert refusal_auroc([scored("<UNK>", "A", 0.5, bad=True), scored("A", "A", 0.5)]) == 0.5
    # the model wrote the refusal itself, though confident: it ranks as the least in scope
    results = [scored("<UNK>", "<UNK>", 0.99, bad=True), scored("A", "A", 0.3), scored("A", "A", 0.8)]
    assert refusal_auroc(results) == 1.0
    bad = results[0]
    assert bad.refused_at(0.0) and bad.correct_at(0.0)
    assert refusal_sweep(results)["rows"][0]["off_topic_recall"] == 1.0


def test_a_candidate_refused_by_the_model_s_threshold_is_replayed_below_it():
    kept = scored("A", "A", 0.4, final="<UNK>")          # refused at the model's threshold, A was chosen
    numeric = scored("Madness", "Madness", 0.4, final="<UNK>", expected_value=5)
    assert kept.refused and kept.chosen == "A"
    assert kept.correct_at(0.3) and not kept.correct_at(0.5)
    assert not numeric.correct_at(0.3)  # its value was never written
    wrong = scored("B", "A", 0.9)
    assert not wrong.refused_at(0.5) and not wrong.correct_at(0.5)


def test_cases_without_confidence_are_excluded_and_said_so():
    results = [scored("A", "A", None), scored("<UNK>", "<UNK>", None, bad=True), scored("A", "A", 0.7),
               scored("<UNK>", "A", 0.1, bad=True)]
    sweep = refusal_sweep(results)
    assert (sweep["cases"], sweep["excluded"]) == (2, 2)
    assert "2 case(s) carry no confidence" in sweep["note"]
    assert sweep["auroc"] == 1.0
    nothing = refusal_sweep([scored("A", "A", None)])
    assert nothing["rows"] == [] and nothing["auroc"] is None and nothing["best_on_this_set"] is None


def test_best_threshold_keeps_false_refusals_within_five_percent():
    good = [scored("A", "A", 0.9) for _ in range(19)] + [scored("A", "A", 0.3)]
    bad = [scored("<UNK>", "A", c, bad=True) for c in (0.1, 0.25, 0.5, 0.95)]
    sweep = refusal_sweep(good + bad, threshold=0.2)
    # cuts between neighbours: at 0.4 the good 0.3 goes (5 %), at 0.7 the bad 0.5 too; above 0.9 every good one
    assert sweep["best_on_this_set"] == {"threshold": 0.7, "off_topic_recall": 0.75, "false_refusals": 0.05,
                                         "in_scope_accuracy": 0.95, "chosen_on": "this evaluation set"}
    assert sweep["at_threshold"]["off_topic_recall"] == 0.25
    assert summarize(good + bad, threshold=0.2)["refusal"] == sweep


def test_the_curve_runs_from_no_threshold_to_refusing_everything():
    results = [scored("<UNK>", "A", 0.2, bad=True), scored("A", "A", 0.6), scored("A", "B", 0.6)]
    curve = refusal_curve(results)
    assert len(curve) == 3 and [p["threshold"] for p in curve[:2]] == [0.0, 0.4] and curve[2]["threshold"] > 0.6
    assert (curve[0]["false_refusals"], curve[0]["off_topic_recall"]) == (0.0, 0.0)
    assert (curve[1]["false_refusals"], curve[1]["off_topic_recall"], curve[1]["in_scope_accuracy"]) == (0.0, 1.0, 0.5)
    assert (curve[-1]["false_refusals"], curve[-1]["off_topic_recall"], curve[-1]["in_scope_accuracy"]) == (1.0, 1.0, 0.0)


confidences = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.lists(st.tuples(st.booleans(), confidences, st.booleans()), min_size=1, max_size=30))
def test_auroc_is_the_share_of_pairs_ordered_right(cases):
    results = [scored("<UNK>" if bad else "A", "<UNK>" if chose_refusal else "A", c, bad=bad)
               for bad, c, chose_refusal in cases]
    good = [r for r in results if not r.bad_prompt]
    bad = [r for r in results if r.bad_prompt]
    auroc = refusal_auroc(results)
    if not good or not bad:
        assert auroc is None
        return

    def out(r):
        return (r.chosen == "<UNK>", -r.confidence)

    wins = sum(1.0 if out(b) > out(g) else 0.5 if out(b) == out(g) else 0.0 for b in bad for g in good)
    assert auroc == pytest.approx(wins / (len(bad) * len(good)), abs=1e-4)
    curve = refusal_curve(results)
    for before, after in zip(curve, curve[1:]):  # a higher threshold refuses more of both kinds
        assert after["false_refusals"] >= before["false_refusals"]
        assert after["off_topic_recall"] >= before["off_topic_recall"]


def test_a_case_without_confidence_cannot_be_replayed():
    with pytest.raises(MTPValueError, match="no confidence score"):
        scored("A", "A", None).refused_at(0.5)


def near(bad: bool, prompt_similarity: float | None, refused_by: str | None = None) -> CaseResult:
    """A case with the similarity of its guarded line, refused for ``refused_by`` (None: answered)."""
    return CaseResult(instruction="chat", expected_final="<UNK>" if bad else "A",
                      predicted_final="<UNK>" if refused_by else "A", bad_prompt=bad, refused=refused_by is not None,
                      expected_text="", predicted_text="", similarity=1.0, seconds=0.0, new_tokens=1,
                      prompt_similarity=prompt_similarity, refused_by=refused_by)


def test_similarity_refusal_auroc_and_reasons_by_hand():
    from model_train_protocol.eval import similarity_refusal

    results = [near(True, 0.1, "similarity"), near(True, 0.5, "model"), near(True, 0.7),
               near(False, 0.6), near(False, 0.9), near(False, 0.2, "similarity"), near(False, None)]
    summary = similarity_refusal(results)
    # bad 0.1 is below all 3 good (3 pairs), 0.5 below 0.6 and 0.9 (2), 0.7 below 0.9 (1): 6 of 9 pairs
    assert summary["cases"] == 6 and summary["auroc"] == round(6 / 9, 4)
    assert summary["refused_by"] == {"off_topic": {"similarity": 1, "model": 1}, "in_scope": {"similarity": 1}}
    assert similarity_refusal([near(False, None)]) == {"cases": 0, "auroc": None,
                                                       "refused_by": {"off_topic": {}, "in_scope": {}}}
    assert summarize(results)["similarity_refusal"] == summary
