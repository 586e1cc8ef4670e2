"""Training text from a Protocol, through the canonical renderer only, and its train/validation split.

Every example is a :class:`~model_train_protocol.rules.RenderedExample`:
the model reads ``prompt`` and learns to write ``completion`` (response,
final key, ``<EOS>``). Guardrail refusals come from the same renderer. The
protocol's and instructions' background lines are added as plain
language-model text, trained on in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..export import stratified_split
from ..rules import RenderedExample, render_protocol

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["TrainingData", "build_training_data"]


@dataclass
class TrainingData:
    """Examples to learn from, examples to validate on, and background text (always trained on)."""

    train: list[RenderedExample]
    val: list[RenderedExample]
    lm_text: list[str] = field(default_factory=list)

    def all_text(self) -> list[str]:
        """Every string the model will see: what a scratch tokenizer is trained on."""
        return [e.text for e in self.train + self.val] + self.lm_text


def build_training_data(
    protocol: "Protocol", val_split: float = 0.1, seed: int = 0, guardrails: bool = True, context_text: bool = True
) -> TrainingData:
    """All rendered samples and guardrail refusals, split as ``mtp export`` splits them; background lines as extra text."""
    examples = list(render_protocol(protocol, guardrails=guardrails))
    train, val = stratified_split(examples, val_split, seed)
    lm_text: list[str] = []
    if context_text:
        lm_text = list(protocol.context)
        for instruction in protocol.instructions:
            lm_text += instruction.background
    return TrainingData(train=train, val=val, lm_text=lm_text)
