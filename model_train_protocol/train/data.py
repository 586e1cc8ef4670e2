"""Training text from a Protocol, through the canonical renderer only, and its train/validation split.

Every example is a :class:`~model_train_protocol.render.RenderedExample`:
the model reads ``prompt`` and learns to write ``completion`` (response,
final key, ``<EOS>``). Guardrail refusals come from the same renderer. The
protocol's and instructions' background lines are added as plain
language-model text, trained on in full.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Hashable

from ..render import RenderedExample, render_protocol

if TYPE_CHECKING:
    from ..protocol import Protocol

__all__ = ["TrainingData", "build_training_data", "stratified_split", "stratum"]


@dataclass
class TrainingData:
    """Examples to learn from, examples to validate on, and background text (always trained on)."""

    train: list[RenderedExample]
    val: list[RenderedExample]
    lm_text: list[str] = field(default_factory=list)

    def all_text(self) -> list[str]:
        """Every string the model will see: what a scratch tokenizer is trained on."""
        return [e.text for e in self.train + self.val] + self.lm_text


def stratum(example: RenderedExample) -> Hashable:
    """Examples are split per (instruction, final), refusals apart, so both sides see every answer."""
    return (example.instruction, example.final, example.guardrail)


def stratified_split(
    examples: list[RenderedExample], val_split: float, seed: int
) -> tuple[list[RenderedExample], list[RenderedExample]]:
    """Hold out about ``val_split`` of the examples, proportionally per stratum, reproducibly for a seed.

    The held-out count is ``round(N * val_split)``, shared between strata by
    largest remainder; a stratum never gives away its last example, so the
    model is trained on every (instruction, final) pair.
    """
    groups: dict[Hashable, list[RenderedExample]] = defaultdict(list)
    for ex in examples:
        groups[stratum(ex)].append(ex)
    rng = random.Random(seed)
    keys = list(groups)
    for key in keys:
        rng.shuffle(groups[key])
    quota = {k: len(groups[k]) * val_split for k in keys}
    take = {k: min(int(quota[k]), len(groups[k]) - 1) for k in keys}
    left = round(len(examples) * val_split) - sum(take.values())
    order = sorted(keys, key=lambda k: (-(quota[k] - int(quota[k])), -len(groups[k]), keys.index(k)))
    while left > 0 and any(take[k] < len(groups[k]) - 1 for k in keys):
        for k in order:
            if left > 0 and take[k] < len(groups[k]) - 1:
                take[k] += 1
                left -= 1
    held = {id(ex) for k in keys for ex in groups[k][: take[k]]}
    train = [ex for ex in examples if id(ex) not in held]
    val = [ex for ex in examples if id(ex) in held]
    return train, val


def build_training_data(
    protocol: "Protocol", val_split: float = 0.1, seed: int = 0, guardrails: bool = True, context_text: bool = True
) -> TrainingData:
    """All rendered samples and guardrail refusals, split; background lines as extra text."""
    examples = list(render_protocol(protocol, guardrails=guardrails))
    train, val = stratified_split(examples, val_split, seed)
    lm_text: list[str] = []
    if context_text:
        lm_text = list(protocol.context)
        for instruction in protocol.instructions:
            lm_text += instruction.background
    return TrainingData(train=train, val=val, lm_text=lm_text)
