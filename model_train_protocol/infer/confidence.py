"""How sure a model is of its answer, and the threshold below which it refuses.

Guardrail samples teach a model to refuse a handful of listed off-topic
prompts; a prompt unlike any of them reaches a model that has never been told
to refuse it. What such a prompt does leave is doubt: somewhere in the answer
the model hesitates between texts or finals. The confidence of an answer is
its probability under the constrained distributions it was decoded from: the
product of the probabilities of its chosen tokens. Measured on CLINC150's
tuning queries (docs/quality.md), it separates unseen off-topic prompts from
in-scope ones better than the least probable token or the final's own
probability (AUROC 0.96 against 0.93 and 0.80). The threshold is chosen at
training time on the validation split (:func:`choose_threshold`) and stored
in the manifest.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..errors import MTPValueError

__all__ = ["confidence", "choose_threshold", "stored_threshold", "check_threshold", "refusal_section"]


def confidence(token_probs: Sequence[float]) -> float | None:
    """The answer's confidence in [0, 1]: the product of its chosen tokens' probabilities (None without tokens)."""
    return round(math.prod(token_probs), 6) if token_probs else None


def check_threshold(value: Any, signal: str = "confidence") -> float:
    """A refusal threshold of ``signal`` as given by a user: a finite number in [0, 1] (0 turns it off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise MTPValueError(f"the {signal} threshold must be a number in [0, 1] (0: off), got {value!r}.")
    return float(value)


def refusal_section(manifest: Any) -> Mapping[str, Any]:
    """What a training run wrote about refusals (``mtp.refusal`` in the manifest); empty if there is none."""
    mtp = manifest.get("mtp") if isinstance(manifest, Mapping) else None
    refusal = mtp.get("refusal") if isinstance(mtp, Mapping) else None
    return refusal if isinstance(refusal, Mapping) else {}


def stored_threshold(manifest: Mapping[str, Any]) -> float | None:
    """The threshold a training run chose (``mtp.refusal.threshold`` in the manifest), None if there is none."""
    value = refusal_section(manifest).get("threshold")
    try:
        return check_threshold(value) if value is not None else None
    except MTPValueError:
        return None


def choose_threshold(in_scope: Sequence[float], max_false_refusals: float, cap: float) -> float:
    """The highest threshold that refuses at most ``max_false_refusals`` of the in-scope confidences, at most ``cap``.

    ``in_scope`` are the confidences of held-out prompts the model should
    answer. With ``n`` of them, the threshold sits just below the
    ``floor(n * max_false_refusals)``-th smallest value, so on this sample
    exactly that many are refused; ``cap`` bounds it when the sample is small.
    """
    if not in_scope:
        return 0.0
    ordered = sorted(in_scope)
    allowed = int(len(ordered) * max_false_refusals)
    return round(min(cap, ordered[allowed] * 0.999), 6)
