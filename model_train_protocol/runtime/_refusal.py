"""Refusal, in one place: the manifest's refusal section as a typed value, both policies, the refusal line.

A guarded instruction refuses (answers with its guardrail's line) for one of
these reasons, checked in this order (:func:`refusal_reason`):

- ``intent``: the intent head's refusal class (``<refuse>``, the guardrail's
  samples) won, or the line is unlike every training line in its fine-tuned space;
- ``similarity``: a guarded line is less similar to that line's training texts
  than its threshold (prompt similarity, chosen from the protocol at training time);
- ``confidence``: the answer's confidence (the product of its chosen tokens'
  probabilities, or the head's in-scope probability where it decides) is below
  the threshold chosen on the validation split.

The thresholds are chosen at training time (:func:`choose_threshold`,
:func:`choose_similarity_threshold`), written into the manifest's
``mtp.refusal`` and the runtime spec as :class:`Refusal`, and read back from
either with :meth:`Refusal.from_section`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import MTPValueError

__all__ = ["REFUSE_CLASS", "Refusal", "check_threshold", "confidence", "choose_threshold",
           "choose_similarity_threshold", "quantile", "below_threshold", "refusal_reason", "refusal_completion"]

#: The intent head's class of the guardrail's samples: a prompt it wins is refused.
REFUSE_CLASS = "<refuse>"


def check_threshold(value: Any, signal: str = "confidence") -> float:
    """A refusal threshold of ``signal`` as given by a user: a finite number in [0, 1] (0 turns it off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise MTPValueError(f"the {signal} threshold must be a number in [0, 1] (0: off), got {value!r}.")
    return float(value)


def confidence(token_probs: Sequence[float]) -> float | None:
    """The answer's confidence in [0, 1]: the product of its chosen tokens' probabilities (None without tokens)."""
    return round(math.prod(token_probs), 6) if token_probs else None


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


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (numpy's default), without numpy."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def choose_similarity_threshold(leave_one_out: Sequence[float], guardrail: Sequence[float]) -> float:
    """Halfway between a new in-scope line (5th percentile of ``leave_one_out``) and off-topic (median ``guardrail``).

    ``leave_one_out``: each training text's similarity to its nearest other
    training text; ``guardrail``: each guardrail sample's similarity to its
    nearest training text. Chosen on CLINC150's tuning queries over its eight
    domains: 1.3 % of in-scope queries refused, 95 % of off-topic ones (quality.md).
    """
    return round((quantile(leave_one_out, 0.05) + quantile(guardrail, 0.5)) / 2, 6)


def _similarity_table(section: Any) -> dict[str, dict[int, float]]:
    """The thresholds of a ``mtp.refusal.similarity`` section, junk left out (a value no run writes: no threshold)."""
    table = section.get("thresholds") if isinstance(section, Mapping) else None
    found: dict[str, dict[int, float]] = {}
    for name, lines in (table.items() if isinstance(table, Mapping) else ()):
        for line, value in (lines.items() if isinstance(lines, Mapping) else ()):
            try:
                found.setdefault(str(name), {})[int(line)] = check_threshold(value, "similarity")
            except (MTPValueError, ValueError):
                continue
    return found


@dataclass(frozen=True)
class Refusal:
    """The refusal settings of a trained model: what training chose, and why.

    ``threshold``: the confidence threshold (None: the model's own choice only);
    ``similarity``: instruction -> guarded text line -> similarity threshold;
    ``facts``: the section as training wrote it (how and on what each threshold was chosen), kept verbatim.
    """

    threshold: float | None = None
    similarity: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Any) -> "Refusal":
        """The value of a manifest's ``mtp.refusal`` section (or a spec's ``refusal``); a missing or damaged
        entry is simply off, as a model without it would be."""
        section = section if isinstance(section, Mapping) else {}
        value = section.get("threshold")
        try:
            threshold = check_threshold(value) if value is not None else None
        except MTPValueError:
            threshold = None
        return cls(threshold, _similarity_table(section.get("similarity")), dict(section))

    @classmethod
    def from_manifest(cls, manifest: Any) -> "Refusal":
        """The refusal section of a manifest (``mtp.refusal``); all off when there is none."""
        mtp = manifest.get("mtp") if isinstance(manifest, Mapping) else None
        return cls.from_section(mtp.get("refusal") if isinstance(mtp, Mapping) else None)

    def to_section(self) -> dict[str, Any]:
        """The section as written: training's facts (they hold the thresholds)."""
        return dict(self.facts)

    @property
    def similarity_section(self) -> Mapping[str, Any] | None:
        """What the similarity calibration wrote (encoder, thresholds, skipped lines, rule); None when it did not run."""
        section = self.facts.get("similarity")
        return section if isinstance(section, Mapping) else None


def below_threshold(score: float | None, threshold: float | None) -> bool:
    """Whether a confidence ``score`` is refused by ``threshold`` (None or 0: the threshold is off)."""
    return score is not None and bool(threshold) and score < threshold  # type: ignore[operator]


def refusal_reason(head_refuses: bool, near: tuple[float, float] | None, score: float | None,
                   threshold: float | None) -> str | None:
    """Why a guarded answer is refused, in the order the refusals apply: the head's decision, the line's
    similarity (``near``: similarity, threshold), the confidence ``score`` against ``threshold``; None when none
    applies."""
    if head_refuses:
        return "intent"
    if near is not None and near[0] < near[1]:
        return "similarity"
    if below_threshold(score, threshold):
        return "confidence"
    return None


def refusal_completion(refusal_line: str, guardrail_key: str) -> str:
    """The answer and final lines a runtime writes when it refuses on its own."""
    return f"{refusal_line}\n{guardrail_key}"
