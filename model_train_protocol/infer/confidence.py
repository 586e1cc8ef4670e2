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
in the manifest and the runtime spec. The rules live in
:mod:`model_train_protocol.runtime` (its refusal module); this module keeps their import path.
"""

from __future__ import annotations

from typing import Any

from ..runtime import Refusal, check_threshold, choose_threshold, confidence

__all__ = ["confidence", "choose_threshold", "stored_threshold", "check_threshold"]


def stored_threshold(manifest: Any) -> float | None:
    """The threshold a training run chose (``mtp.refusal.threshold`` in the manifest), None if there is none."""
    return Refusal.from_manifest(manifest).threshold
