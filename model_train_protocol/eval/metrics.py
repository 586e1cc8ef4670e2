"""Scores of a model on rendered examples: finals, refusals, response similarity, speed."""

from __future__ import annotations

import difflib
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..infer.answer import Answer, parse_completion
from ..infer.spec import final_name
from ..render import RenderedExample
from ..tokens import UNK

if TYPE_CHECKING:
    from ..infer.model import Model

__all__ = ["CaseResult", "score_case", "run_cases", "summarize", "confusion"]


@dataclass(frozen=True)
class CaseResult:
    """One example: what was expected, what the model answered."""

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

    @property
    def correct(self) -> bool:
        return self.expected_final == self.predicted_final

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "correct": self.correct}


def similarity(a: str, b: str) -> float:
    """difflib's ratio of the two texts (1.0 identical, 0.0 nothing shared)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def score_case(example: RenderedExample, expected_final: str, answer: "Answer", seconds: float = 0.0) -> CaseResult:
    """Compare an answer with the example it was asked for."""
    expected_text = example.completion.split("\n", 1)[0]
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
    )


def run_cases(model: "Model", examples: Sequence[RenderedExample],
              advance: Callable[[int], None] = lambda n: None) -> list[CaseResult]:
    """Answer every example's prompt with constrained greedy decoding and score it."""
    results = []
    for example in examples:
        spec = model.spec(example.instruction)
        gen = model.generate(spec, example.prompt)
        answer = replace(parse_completion(gen.completion, spec), tokens=gen.new_tokens)
        expected = spec.final_for_key(example.final)
        results.append(score_case(example, expected.name if expected else final_name(example.final), answer, gen.seconds))
        advance(1)
    return results


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarize(results: Iterable[CaseResult]) -> dict[str, Any]:
    """Final accuracy (on good prompts), guardrail recall, false refusals, similarity and speed."""
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
        "latency_p50_s": round(statistics.median(seconds), 4) if seconds else None,
        "tokens_per_s": round(tokens / sum(seconds), 1) if seconds else None,
        "per_instruction": per_instruction,
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
