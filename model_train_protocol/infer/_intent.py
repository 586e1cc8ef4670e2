"""The intent head: which final (or state) a prompt's user line asks for, decided by a fine-tuned sentence encoder.

Training (:mod:`..train._intent`) fine-tunes the sentence encoder on the
protocol's lines and fits one logistic-regression head per instruction; which
instructions get a head and which line it reads is the compiler's
(:func:`model_train_protocol.rules.head_sources`), and the runtime spec
carries each head's training lines. This module holds the pooling both sides
share and the runtime half: :class:`IntentHeads` loads ``intent/`` from a model
directory and :meth:`IntentHeads.decide` answers with the final's name and
every class's probability.

How :class:`~.model.Model` uses the decision: the answer is the head's final
with the answer text of the training sample whose line is nearest to the
prompt's among that final's samples (so text and final always agree), and the
language model is not run (a state machine or multi-classifier answers the
decided state or label line). A guarded line's head refuses (``refused_by="intent"``) when
the class of the guardrail's samples (``<refuse>``) wins, or when the line is
less similar than the head's ``min_similarity`` to every training line in the
fine-tuned space (the rule is in :mod:`..train._intent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import MTPFileError
from ..runtime import REFUSE_CLASS, IntentHead

if TYPE_CHECKING:
    import torch

    from ._similarity import SentenceEncoder

__all__ = ["INTENT_DIR", "ENCODER_FILE", "ENCODER_FOLDER", "HEADS_FILE", "REFUSE_CLASS", "IntentHeads", "Decision",
           "pooled", "trainable_names", "trainable_state"]

INTENT_DIR = "intent"
ENCODER_FILE = "encoder.safetensors"
#: Where a model directory holds a user's encoder whole (``mtp train --encoder``), in ``INTENT_DIR``.
ENCODER_FOLDER = "encoder"
HEADS_FILE = "heads.safetensors"
#: Longest line the encoder reads, in its tokens (player lines are far shorter).
_MAX_TOKENS = 64


def trainable_names(model: Any) -> set[str]:
    """The encoder's parameters the fine-tuning changes: every one but the embeddings (kept as shipped)."""
    return {name for name, _ in model.named_parameters() if not name.startswith("embeddings.")}


def trainable_state(model: Any) -> dict[str, "torch.Tensor"]:
    names = trainable_names(model)
    return {name: p.detach() for name, p in model.named_parameters() if name in names}


def pooled(encoder: "SentenceEncoder", texts: Sequence[str]) -> "torch.Tensor":
    """Mean-pooled unit vectors of ``texts`` (with gradients when the encoder trains)."""
    import torch

    if not texts:
        return torch.zeros(0, encoder.model.config.hidden_size)
    batch = encoder.tokenizer(list(texts), padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
    hidden = encoder.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1), dim=-1)


@dataclass(frozen=True)
class Decision:
    """The head's answer for one prompt: the class, its probability, all probabilities, the nearest sample."""

    final: str
    probability: float
    probs: dict[str, float]
    #: index (in the instruction's samples) of the sample of ``final`` whose line is nearest the prompt's; -1 if none
    nearest: int
    #: cosine similarity of the line to its nearest training line, and the head's refusal threshold (None: none)
    similarity: float = 1.0
    min_similarity: float | None = None

    @property
    def refuses(self) -> bool:
        """The refusal class won, or the line is unlike every training line (a guarded line's head only)."""
        return self.final == REFUSE_CLASS or (self.min_similarity is not None and self.similarity < self.min_similarity)


@dataclass(frozen=True)
class _Head:
    line: int
    classes: tuple[str, ...]
    weight: "torch.Tensor"
    bias: "torch.Tensor"
    lines: "torch.Tensor"
    labels: tuple[str, ...]
    replies: tuple[str, ...]
    min_similarity: float | None


class IntentHeads:
    """The fine-tuned encoder and each instruction's head, as a training run wrote them."""

    def __init__(self, encoder: "SentenceEncoder", heads: Mapping[str, _Head]) -> None:
        self.encoder = encoder
        self._heads = dict(heads)

    def __bool__(self) -> bool:
        return bool(self._heads)

    def __contains__(self, instruction: object) -> bool:
        return instruction in self._heads

    @classmethod
    def load(cls, directory: Path, heads: Mapping[str, IntentHead]) -> "IntentHeads":
        """Read ``intent/`` of a verified model directory; every tensor is checked against the runtime spec's heads."""
        from safetensors.torch import load_file

        from ._similarity import SentenceEncoder

        folder = directory / INTENT_DIR
        whole = folder / ENCODER_FOLDER
        try:
            blocks = None if (whole / "config.json").is_file() else load_file(str(folder / ENCODER_FILE))
            stored = load_file(str(folder / HEADS_FILE))
        except Exception as exc:  # a damaged file: one clear line
            raise MTPFileError(f"the intent head's weights do not load ({type(exc).__name__}); train the model "
                               "again.", path=str(folder)) from None
        if blocks is None:  # the user's encoder, stored whole by training
            from ._similarity import SentenceEncoderError

            try:
                encoder = SentenceEncoder(whole, fix="train the model again")
            except SentenceEncoderError as exc:
                raise MTPFileError(str(exc), path=str(whole)) from None
            return cls.build(encoder, heads, stored, str(folder))
        encoder = SentenceEncoder.load()
        expected = trainable_state(encoder.model)
        if set(blocks) != set(expected) or any(blocks[k].shape != expected[k].shape for k in expected):
            raise MTPFileError(f"{ENCODER_FILE} does not fit the installed sentence encoder; train the model again.",
                               path=str(folder))
        encoder.model.load_state_dict(blocks, strict=False)
        return cls.build(encoder, heads, stored, str(folder))

    @classmethod
    def build(cls, encoder: "SentenceEncoder", heads: Mapping[str, IntentHead], stored: Mapping[str, "torch.Tensor"],
              where: str = "") -> "IntentHeads":
        """The heads of a (fine-tuned) encoder from their tensors, each checked against its spec (by model name)."""
        import torch

        built: dict[str, _Head] = {}
        dim = encoder.model.config.hidden_size
        for name, head in heads.items():
            tensors = [stored.get(f"{head.index}.{part}") for part in ("weight", "bias", "lines")]
            if any(t is None for t in tensors):
                raise MTPFileError(f"the intent head {head.index} does not match the protocol; train the model again.",
                                   path=where or None)
            weight, bias, lines = tensors
            if (tuple(weight.shape) != (dim, len(head.classes)) or tuple(bias.shape) != (len(head.classes),)
                    or tuple(lines.shape) != (len(head.texts), dim)):
                raise MTPFileError(f"the intent head {head.index} has the wrong shape; train the model again.",
                                   path=where or None)
            built[name] = _Head(head.line, head.classes, weight.to(torch.float32), bias.to(torch.float32),
                                lines.to(torch.float32), head.labels, head.replies, head.min_similarity)
        return cls(encoder, built)

    def decide(self, instruction: str, lines: Sequence[str]) -> Decision | None:
        """The head's decision for a prompt's text lines; None when the instruction has no head."""
        import torch

        head = self._heads.get(instruction)
        if head is None:
            return None
        text = lines[head.line] if head.line < len(lines) else ""
        with torch.no_grad():
            vector = pooled(self.encoder, [text])[0]
        probs = (vector @ head.weight + head.bias).softmax(-1)
        best = int(probs.argmax())
        final = head.classes[best]
        sims = head.lines @ vector
        same = [i for i, label in enumerate(head.labels) if label == final]
        nearest = max(same, key=lambda i: float(sims[i])) if same else -1
        return Decision(final, round(float(probs[best]), 6),
                        {c: round(float(p), 6) for c, p in zip(head.classes, probs)}, nearest,
                        round(float(sims.max()), 6) if len(sims) else 0.0, head.min_similarity)

    def reply(self, instruction: str, decision: Decision) -> str | None:
        """The answer text of the sample nearest the prompt among the decided final's (None: no such sample)."""
        head = self._heads.get(instruction)
        if head is None or decision.nearest < 0:
            return None
        return head.replies[decision.nearest]
