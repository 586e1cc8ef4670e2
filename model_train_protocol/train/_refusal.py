"""Calibration of the refusals at training time: the similarity threshold of every guarded line.

The rules themselves are the runtime's (:mod:`model_train_protocol.runtime`,
its refusal module); this is the part that reads the protocol, so it lives
with training, which writes the result into the manifest and the runtime spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..rules import line_references
from ..runtime import ENCODER_NAME, choose_similarity_threshold

if TYPE_CHECKING:
    from ..infer import SentenceEncoder
    from ..authoring import Protocol

__all__ = ["MIN_REFERENCE_TEXTS", "calibrate_similarity"]

#: Fewest distinct training texts on a guarded line for its threshold to mean anything.
MIN_REFERENCE_TEXTS = 4


def calibrate_similarity(protocol: "Protocol", encoder: "SentenceEncoder") -> dict[str, Any]:
    """The manifest's ``mtp.refusal.similarity``: a threshold per guarded line, and why a line has none."""
    thresholds: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    for ref in line_references(protocol):
        if len(ref.texts) < MIN_REFERENCE_TEXTS or not ref.guardrail_texts:
            skipped.append(f"{ref.instruction} line {ref.line + 1}: {len(ref.texts)} distinct texts "
                           f"(at least {MIN_REFERENCE_TEXTS} are needed) and {len(ref.guardrail_texts)} guardrail samples")
            continue
        train = encoder.encode(ref.texts)
        sims = train @ train.T
        sims.fill_diagonal_(-1.0)
        loo = sims.max(dim=1).values.tolist()
        guard = (encoder.encode(ref.guardrail_texts) @ train.T).max(dim=1).values.tolist()
        thresholds.setdefault(ref.instruction, {})[str(ref.line)] = choose_similarity_threshold(loo, guard)
    return {"encoder": ENCODER_NAME, "thresholds": thresholds, "skipped": skipped,
            "rule": "(5th percentile of leave-one-out nearest-neighbour similarity + median guardrail similarity) / 2"}
