"""Scores of a model on rendered examples: finals (with their values), refusals, per-final F1, the refusal
threshold sweep, response similarity, speed."""

from __future__ import annotations

import difflib
import math
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..errors import MTPValueError
from ..infer import Answer
from ..runtime import below_threshold, final_name
from ..rules import RenderedExample
from ..authoring import UNK

if TYPE_CHECKING:
    from ..infer import InstructionSpec, Model

__all__ = ["CaseResult", "score_case", "run_cases", "summarize", "confusion", "per_final_scores", "refusal_sweep",
           "refusal_auroc", "refusal_curve", "choice_scores", "FALSE_REFUSAL_BUDGET"]

#: The false-refusal rate the best threshold of an evaluation set may not exceed.
FALSE_REFUSAL_BUDGET = 0.05
#: Thresholds of the sweep table (the model's own and the best one on the set are added).
SWEEP_GRID = tuple(round(0.1 * i, 1) for i in range(11))


@dataclass(frozen=True)
class CaseResult:
    """One example: what was expected, what the model answered.

    ``expected_value``/``predicted_value`` are a numeric final's number (None
    for other finals); ``confidence`` and ``candidate`` come from the answer
    (see :class:`~model_train_protocol.infer.Answer`): the in-scope confidence
    and the final chosen before the refusal threshold, so that the threshold
    can be replayed (:meth:`refused_at`, :meth:`correct_at`). ``prompt_similarity`` and
    ``refused_by`` too (None when the similarity refusal is off; why a refusal was given).

    For a state machine (``kind`` ``state_machine``) ``expected_state`` and
    ``predicted_state`` are the states (None for a bad prompt or a refusal),
    for a multi-classifier ``expected_labels`` and ``predicted_labels`` the
    label dicts; a case is correct only with the expected state or labels.
    """

    instruction: str
    expected_final: str
    predicted_final: str
    bad_prompt: bool
    refused: bool
    expected_text: str
    predicted_text: str
    similarity: float
    seconds: float
    new_tokens: int
    expected_value: int | float | None = None
    predicted_value: int | float | None = None
    confidence: float | None = None
    candidate: str = ""
    prompt_similarity: float | None = None
    refused_by: str | None = None
    kind: str = ""
    expected_state: str | None = None
    predicted_state: str | None = None
    expected_labels: dict[str, str] | None = None
    predicted_labels: dict[str, str] | None = None
    #: the language model's own choice and the intent head's (see :class:`~model_train_protocol.infer.Answer`)
    model_final: str = ""
    intent: str | None = None

    @property
    def correct(self) -> bool:
        """The expected final, and for a numeric final also its expected value (its state, its labels)."""
        return (self.expected_final == self.predicted_final and _value_right(self.expected_value, self.predicted_value)
                and self._choice_right(True))

    def _choice_right(self, answered: bool) -> bool:
        """The expected state or labels, when the case has one (``answered``: the model's own answer stands)."""
        if self.expected_state is None and self.expected_labels is None:
            return True
        return answered and (self.predicted_state, self.predicted_labels) == (self.expected_state, self.expected_labels)

    @property
    def chosen(self) -> str:
        """The final the model chose before any threshold (``candidate``, else ``predicted_final``)."""
        return self.candidate or self.predicted_final

    def refused_at(self, threshold: float) -> bool:
        """Whether the answer is a refusal under ``threshold``: the model chose the refusal, or its confidence is
        below the threshold. Only for cases with a confidence."""
        if self.confidence is None:
            raise MTPValueError(f"case of {self.instruction!r} has no confidence score, so no threshold can be "
                                "replayed on it; leave such cases out (as refusal_sweep does).")
        return self.chosen == UNK.key or below_threshold(self.confidence, threshold)

    def correct_at(self, threshold: float) -> bool:
        """Whether the case is right under ``threshold``: a bad prompt refused; a good prompt not refused, with
        the expected final and value. The value of a candidate the model's own threshold refused was never
        written, so a numeric final counts as wrong then."""
        if self.bad_prompt:
            return self.refused_at(threshold)
        answered = self.chosen == self.predicted_final
        value = self.predicted_value if answered else None
        return (not self.refused_at(threshold) and self.chosen == self.expected_final
                and _value_right(self.expected_value, value) and self._choice_right(answered))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "correct": self.correct}


def _value_right(expected: int | float | None, predicted: int | float | None) -> bool:
    return expected is None or (predicted is not None and predicted == expected)


def similarity(a: str, b: str) -> float:
    """difflib's ratio of the two texts (1.0 identical, 0.0 nothing shared)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def score_case(example: RenderedExample, expected_final: str, answer: "Answer", seconds: float = 0.0,
               spec: "InstructionSpec | None" = None) -> CaseResult:
    """Compare an answer with the example it was asked for (``spec``: its instruction, for a state or labels)."""
    expected_text = example.completion.split("\n", 1)[0]
    expected = spec.answer_choice(expected_text) if spec is not None and spec.choice and not example.guardrail else None
    return CaseResult(
        instruction=example.instruction,
        expected_final=expected_final,
        predicted_final=answer.final,
        bad_prompt=example.guardrail,
        refused=answer.guardrail,
        expected_text=expected_text,
        predicted_text=answer.text,
        similarity=round(similarity(answer.text, expected_text), 4),
        seconds=seconds,
        new_tokens=answer.tokens,
        expected_value=example.value,
        predicted_value=answer.value,
        confidence=answer.confidence,
        candidate=answer.candidate,
        prompt_similarity=answer.prompt_similarity,
        refused_by=answer.refused_by,
        kind=spec.kind if spec is not None and spec.choice else "",
        expected_state=expected if isinstance(expected, str) else None,
        predicted_state=answer.state,
        expected_labels=expected if isinstance(expected, dict) else None,
        predicted_labels=answer.labels,
        model_final=answer.model_final,
        intent=answer.intent,
    )


def run_cases(model: "Model", examples: Sequence[RenderedExample],
              advance: Callable[[int], None] = lambda n: None) -> list[CaseResult]:
    """Answer every example's prompt as ``mtp run`` does (the model's ``complete``: constrained greedy decoding
    and the model's refusal threshold) and score it."""
    results = []
    for example in examples:
        spec = model.spec(example.instruction)
        start = time.perf_counter()
        answer = model.complete(spec, example.prompt)
        seconds = time.perf_counter() - start
        expected = spec.final_for_key(example.final)
        results.append(score_case(example, expected.name if expected else final_name(example.final), answer, seconds,
                                  spec))
        advance(1)
    return results


def _alone(good: Sequence[CaseResult], chosen: Callable[[CaseResult], str | None]) -> float | None:
    """Final accuracy of one decider alone (the language model, or the intent head) on the good prompts it saw;
    a state machine's choice is its state, a multi-classifier's its label line. None when no answer says what that
    decider chose."""
    seen = [r for r in good if chosen(r)]
    right = sum(chosen(r) == (r.expected_state if r.expected_state is not None
                              else r.expected_text if r.expected_labels is not None else r.expected_final)
                for r in seen)
    return _rate(right, len(seen))


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarize(results: Iterable[CaseResult], threshold: float | None = None) -> dict[str, Any]:
    """Final accuracy (on good prompts), guardrail recall, false refusals, macro-F1 and per-final scores, the
    refusal sweep (``threshold``: the model's own, marked in it), similarity and speed."""
    results = list(results)
    good = [r for r in results if not r.bad_prompt]
    bad = [r for r in results if r.bad_prompt]
    per_instruction: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in good:
        groups[r.instruction].append(r)
    for name, rs in groups.items():
        per_instruction[name] = {"cases": len(rs), "final_accuracy": _rate(sum(r.correct for r in rs), len(rs)),
                                 "similarity": round(statistics.fmean(r.similarity for r in rs), 4)}
    seconds = [r.seconds for r in results if r.seconds > 0]
    tokens = sum(r.new_tokens for r in results)
    return {
        "cases": len(results),
        "good_prompts": len(good),
        "bad_prompts": len(bad),
        "final_accuracy": _rate(sum(r.correct for r in good), len(good)),
        "guardrail_recall": _rate(sum(r.refused for r in bad), len(bad)),
        "false_refusals": _rate(sum(r.refused for r in good), len(good)),
        "overall_accuracy": _rate(sum(r.correct for r in results), len(results)),
        "response_similarity": round(statistics.fmean(r.similarity for r in good), 4) if good else None,
        "exact_responses": _rate(sum(r.predicted_text == r.expected_text for r in good), len(good)),
        "language_model_accuracy": _alone(good, lambda r: r.model_final),
        "intent_head_accuracy": _alone(good, lambda r: r.intent),
        "latency_p50_s": round(statistics.median(seconds), 4) if seconds else None,
        "tokens_per_s": round(tokens / sum(seconds), 1) if seconds else None,
        "per_instruction": per_instruction,
        **per_final_scores(results),
        "refusal": refusal_sweep(results, threshold),
        "similarity_refusal": similarity_refusal(results),
        "choices": choice_scores(results),
    }


def _matrix(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Labels (expected ones first, then predicted ones, by first appearance; ``<UNK>`` last) and
    counts[expected][predicted]."""
    labels = list(dict.fromkeys([a for a, _ in pairs] + [b for _, b in pairs]))
    if UNK.key in labels:
        labels.remove(UNK.key)
        labels.append(UNK.key)
    counts = Counter(pairs)
    return {"labels": labels, "counts": [[counts[(a, b)] for b in labels] for a in labels]}


def _state_scores(rs: Sequence[CaseResult]) -> dict[str, Any]:
    """A state machine: accuracy (good prompts), per expected state (``<UNK>``: bad prompts refused), the
    confusion matrix over states, a refusal being ``<UNK>``."""
    pairs = [(UNK.key if r.bad_prompt else str(r.expected_state),
              UNK.key if r.refused else str(r.predicted_state)) for r in rs]
    per_state: dict[str, dict[str, Any]] = {}
    for expected in dict.fromkeys(a for a, _ in pairs):
        hits = [a == b for a, b in pairs if a == expected]
        per_state[expected] = {"cases": len(hits), "correct": sum(hits), "accuracy": _rate(sum(hits), len(hits))}
    good = [a == b for (a, b), r in zip(pairs, rs) if not r.bad_prompt]
    return {"kind": "state_machine", "cases": len(rs), "accuracy": _rate(sum(good), len(good)),
            "per_state": per_state, "confusion": _matrix(pairs)}


def _label_scores(rs: Sequence[CaseResult]) -> dict[str, Any]:
    """A multi-classifier: exact-match accuracy of the whole label dict, and per label its accuracy and
    confusion matrix (a refusal predicts ``<UNK>`` for every label); good prompts only."""
    good = [r for r in rs if not r.bad_prompt and r.expected_labels is not None]
    names = list(dict.fromkeys(label for r in good for label in r.expected_labels or {}))
    per_label = {}
    for label in names:
        pairs = [(r.expected_labels[label] if r.expected_labels else "",  # type: ignore[index]
                  (r.predicted_labels or {}).get(label, UNK.key) if not r.refused else UNK.key) for r in good]
        right = sum(a == b for a, b in pairs)
        per_label[label] = {"cases": len(pairs), "correct": right, "accuracy": _rate(right, len(pairs)),
                            "confusion": _matrix(pairs)}
    exact = sum(not r.refused and r.predicted_labels == r.expected_labels for r in good)
    return {"kind": "multi_classifier", "cases": len(good), "exact_match": _rate(exact, len(good)),
            "per_label": per_label}


def choice_scores(results: Iterable[CaseResult]) -> dict[str, dict[str, Any]]:
    """Per state-machine instruction :func:`_state_scores`, per multi-classifier :func:`_label_scores`."""
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        if r.kind:
            groups[r.instruction].append(r)
    return {name: _state_scores(rs) if rs[0].kind == "state_machine" else _label_scores(rs)
            for name, rs in groups.items()}


def _auroc(bad: Sequence[float], good: Sequence[float]) -> float | None:
    """The probability that a random bad score is higher than a random good one (ties count half)."""
    if not bad or not good:
        return None
    ranked = sorted([(v, True) for v in bad] + [(v, False) for v in good])
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(is_bad for _, is_bad in ranked[i:j]) * (i + j + 1) / 2
        i = j
    return round((rank_sum - len(bad) * (len(bad) + 1) / 2) / (len(bad) * len(good)), 4)


def similarity_refusal(results: Iterable[CaseResult]) -> dict[str, Any]:
    """How well the prompt's similarity to the training lines separates off-topic prompts (AUROC; None when no
    case carries one), and why each refusal was given, for off-topic and in-scope prompts."""
    results = list(results)
    scored = [r for r in results if r.prompt_similarity is not None]
    reasons: dict[str, dict[str, int]] = {"off_topic": {}, "in_scope": {}}
    for r in results:
        if r.refused and r.refused_by:
            side = reasons["off_topic" if r.bad_prompt else "in_scope"]
            side[r.refused_by] = side.get(r.refused_by, 0) + 1
    return {
        "cases": len(scored),
        "auroc": _auroc([-float(r.prompt_similarity) for r in scored if r.bad_prompt],  # type: ignore[arg-type]
                        [-float(r.prompt_similarity) for r in scored if not r.bad_prompt]),  # type: ignore[arg-type]
        "refused_by": reasons,
    }


def confusion(results: Iterable[CaseResult]) -> tuple[list[str], list[list[int]]]:
    """Labels (finals by first appearance, ``<UNK>`` last) and counts[expected][predicted]."""
    results = list(results)
    labels = list(dict.fromkeys([r.expected_final for r in results] + [r.predicted_final for r in results]))
    if UNK.key in labels:
        labels.remove(UNK.key)
        labels.append(UNK.key)
    counts = Counter((r.expected_final, r.predicted_final) for r in results)
    return labels, [[counts[(a, b)] for b in labels] for a in labels]


def per_final_scores(results: Sequence[CaseResult]) -> dict[str, Any]:
    """``macro_f1`` and ``per_final`` precision, recall and F1.

    Every case has a true label (its expected final; ``<UNK>`` for a bad
    prompt) and a predicted one (the final answered; ``<UNK>`` for a refusal).
    The classes are the expected finals of the good prompts, plus ``<UNK>``
    when there are bad prompts. A case is a hit of its class only when it is
    :attr:`CaseResult.correct` (a numeric final needs its value too); any
    other case is a miss (false negative) of its true class and a false
    positive of its predicted class, when that is a class: a refused good
    prompt lowers its final's recall and ``<UNK>``'s precision, an answered
    bad prompt lowers ``<UNK>``'s recall and the answered final's precision,
    and a numeric final with a wrong value is both a miss and a false
    positive of that final. Precision is None for a class never predicted;
    F1 is 0 without a hit. ``macro_f1`` is the unweighted mean of the classes'
    F1.
    """
    classes = list(dict.fromkeys(r.expected_final for r in results if not r.bad_prompt))
    if any(r.bad_prompt for r in results):
        classes.append(UNK.key)
    hits: Counter[str] = Counter()
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    for r in results:
        support[r.expected_final] += 1
        predicted[r.predicted_final] += 1
        hits[r.expected_final] += r.correct
    scores = {}
    for name in classes:
        tp = hits[name]
        precision = _rate(tp, predicted[name])
        recall = _rate(tp, support[name])
        f1 = round(2 * tp / (support[name] + predicted[name]), 4) if tp else 0.0
        scores[name] = {"support": support[name], "precision": precision, "recall": recall, "f1": f1}
    macro = round(statistics.fmean(v["f1"] for v in scores.values()), 4) if scores else None
    return {"macro_f1": macro, "per_final": scores}


def _scored(results: Iterable[CaseResult]) -> tuple[list[CaseResult], list[CaseResult]]:
    """The good and the bad prompts that carry a confidence."""
    scored = [r for r in results if r.confidence is not None]
    return [r for r in scored if not r.bad_prompt], [r for r in scored if r.bad_prompt]


def _point(good: Sequence[CaseResult], bad: Sequence[CaseResult], threshold: float) -> dict[str, Any]:
    return {
        "threshold": threshold,
        "off_topic_recall": _rate(sum(r.refused_at(threshold) for r in bad), len(bad)),
        "false_refusals": _rate(sum(r.refused_at(threshold) for r in good), len(good)),
        "in_scope_accuracy": _rate(sum(r.correct_at(threshold) for r in good), len(good)),
    }


def _cut_points(good: Sequence[CaseResult], bad: Sequence[CaseResult]) -> list[float]:
    """One threshold per distinct set of refusals: 0, the midpoint between each two neighbouring confidences
    (not a case's own confidence, which would sit on the edge), and just above the highest."""
    values = sorted({float(r.confidence) for r in (*good, *bad)})  # type: ignore[arg-type]
    cuts = [0.0]
    for lo, hi in zip(values, values[1:]):
        mid = (lo + hi) / 2
        short = round(mid, 6)
        cuts.append(short if lo < short <= hi else mid)
    return cuts + [math.nextafter(values[-1], math.inf)]


def refusal_curve(results: Iterable[CaseResult]) -> list[dict[str, Any]]:
    """Off-topic recall against false refusals at every threshold that changes them (for the PNG)."""
    good, bad = _scored(results)
    if not good or not bad:
        return []
    return [_point(good, bad, t) for t in _cut_points(good, bad)]


def refusal_auroc(results: Iterable[CaseResult]) -> float | None:
    """How well the confidence separates off-topic from in-scope prompts: the probability that a random bad
    prompt looks less in scope than a random good one (ties count half).

    A case whose chosen final is the refusal ranks as the least in scope (it
    is refused at every threshold); the others by lower confidence. None
    without both kinds of prompt carrying a confidence.
    """
    good, bad = _scored(results)
    if not good or not bad:
        return None

    def outness(r: CaseResult) -> tuple[bool, float]:
        return (r.chosen == UNK.key, -float(r.confidence))  # type: ignore[arg-type]

    return _auroc([outness(r) for r in bad], [outness(r) for r in good])  # type: ignore[arg-type]


def refusal_sweep(results: Iterable[CaseResult], threshold: float | None = None,
                  budget: float = FALSE_REFUSAL_BUDGET) -> dict[str, Any]:
    """Off-topic recall, false refusals and in-scope accuracy across refusal thresholds, and the AUROC.

    A case is refused at threshold t when its chosen final is the refusal or
    its confidence is below t; a good prompt is right at t when it is not
    refused and its chosen final (and value) is the expected one. Cases
    without a confidence are left out (``excluded``). ``at_threshold`` replays
    the model's own ``threshold``. ``best_on_this_set`` is the threshold (0 or
    a midpoint between neighbouring confidences) with the highest off-topic
    recall whose false refusals stay within ``budget`` (ties: higher
    accuracy, then lower threshold), chosen on these very cases: an
    optimistic figure, never the model's tuned threshold.
    """
    results = list(results)
    good, bad = _scored(results)
    excluded = len(results) - len(good) - len(bad)
    sweep: dict[str, Any] = {
        "cases": len(good) + len(bad),
        "excluded": excluded,
        "threshold": threshold,
        "auroc": refusal_auroc(results),
        "rows": [],
        "at_threshold": None,
        "best_on_this_set": None,
        "false_refusal_budget": budget,
        "note": (f"{excluded} case(s) carry no confidence score and are left out of the sweep and the AUROC."
                 if excluded else ""),
    }
    if not good:
        return sweep
    best = None
    if bad:
        within = [p for p in (_point(good, bad, t) for t in _cut_points(good, bad)) if p["false_refusals"] <= budget]
        if within:
            best = max(within, key=lambda p: (p["off_topic_recall"], p["in_scope_accuracy"], -p["threshold"]))
            sweep["best_on_this_set"] = {**best, "chosen_on": "this evaluation set"}
    extra = [t for t in (threshold, best and best["threshold"]) if t is not None]
    sweep["rows"] = [_point(good, bad, t) for t in sorted({*SWEEP_GRID, *extra})]
    if threshold is not None:
        sweep["at_threshold"] = _point(good, bad, threshold)
    return sweep
