"""The end-of-training check: the trained weights answer prompts exactly as ``mtp run`` would.

The check builds the inference :class:`~model_train_protocol.infer.Model`
in memory and answers with its constrained greedy decoding, so its figures
agree with ``mtp run`` and ``mtp eval`` on the same prompts. The validation
answers also give the confidences from which the refusal threshold is chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..rules import RenderedExample

if TYPE_CHECKING:
    from ..infer import Model

__all__ = ["check_answers", "spread"]


def spread(examples: Sequence[RenderedExample], limit: int) -> list[RenderedExample]:
    """At most ``limit`` examples, evenly spaced, so every instruction is represented."""
    if len(examples) <= limit:
        return list(examples)
    return [examples[i * len(examples) // limit] for i in range(limit)]


def check_answers(model: "Model", examples: Sequence[RenderedExample]) -> dict[str, Any]:
    """Final accuracy (a numeric final only with its value; a state machine's or multi-classifier's final only
    with its state or labels), refusal rate, exact answers, misses, confidences.

    ``confidences`` holds the confidence of each sample (not guardrail) prompt,
    in order, before any threshold: what :func:`choose_threshold` needs.
    """
    finals = refusals = exact = samples = guards = 0
    misses: list[dict[str, Any]] = []
    confidences: list[float] = []
    for ex in examples:
        spec = model.spec(ex.instruction)
        answer = model.complete(spec, ex.prompt)
        expected = spec.final_for_key(ex.final)
        right = expected is not None and answer.candidate == expected.name and answer.value == ex.value
        if spec.choice and not ex.guardrail:
            right = right and answer.text == ex.completion.split("\n", 1)[0]
        exact += answer.raw == ex.completion
        if ex.guardrail:
            guards += 1
            refusals += answer.guardrail
        else:
            samples += 1
            finals += right
            if answer.confidence is not None:
                confidences.append(answer.confidence)
        if not right:
            misses.append({"instruction": ex.instruction, "expected": ex.final_line, "got": answer.raw[-80:]})
    return {
        "examples": len(examples),
        "final_accuracy": finals / samples if samples else None,
        "refusal_rate": refusals / guards if guards else None,
        "exact_match": exact / len(examples) if examples else None,
        "misses": misses[:20],
        "confidences": confidences,
    }
