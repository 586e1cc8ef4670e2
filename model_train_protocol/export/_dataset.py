"""The examples of a protocol and the one train/validation split that export, training and evaluation share.

The split is stratified by (instruction, final key), refusals being their own
class (final ``<UNK>``), a state machine's or multi-classifier's samples by
their state (label line) too, since their final is always ``<NON>``: each class goes to validation in proportion to its size
(largest remainder), every class keeps at least one example in training, and
only the seed decides which examples are picked. It is planned from counts
alone (:func:`split_assignment`), so an export of a million samples never holds
them in memory; :func:`stratified_split` applies the same plan to a list, so
``mtp export``, ``mtp train`` and ``mtp eval`` hold out the same examples for
the same ``val_split`` and ``seed``.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Sequence, TypeVar

from ..errors import MTPValueError
from ..authoring import UNK, instruction_guardrails
from ..rules import RenderedExample

if TYPE_CHECKING:
    from ..authoring import BaseInstruction, KeyMap, Protocol, Sample

__all__ = ["SplitError", "Stratum", "sample_counts", "split_assignment", "strata_counts", "stratified_split", "stratum"]

Stratum = tuple[str, str]
"""(instruction name, final key; ``<NON> STATE`` for a state machine's or multi-classifier's sample): the class an
example belongs to for the split."""

_Example = TypeVar("_Example", bound=RenderedExample)


class SplitError(MTPValueError):
    """The validation fraction is out of range."""


def stratum(example: RenderedExample) -> Stratum:
    """The class of ``example`` for the split (``<UNK>`` for a refusal, whatever refusal line the layout writes;
    ``<NON> STATE`` for a state)."""
    if example.guardrail:
        return (example.instruction, UNK.key)
    return (example.instruction, _final_class(example.final, example.choice))


def _final_class(final_key: str, choice: str) -> str:
    return f"{final_key} {choice}" if choice else final_key


def _sample_class(instruction: "BaseInstruction", sample: "Sample", keys: "KeyMap") -> Stratum:
    """The stratum of a sample, as :func:`stratum` gives it for the sample's rendered example."""
    choice = instruction.answer(sample) if instruction.model_type != "generative" else ""
    return (instruction.name, _final_class(keys(sample.final), choice))


def strata_counts(protocol: "Protocol") -> Counter[Stratum]:
    """How many examples :func:`..rules.render_protocol` yields per (instruction, final key), without rendering them."""
    keys = protocol.key_map()
    gmap = protocol.guardrail_map()
    counts: Counter[Stratum] = Counter()
    for instruction in protocol.instructions:
        counts.update(_sample_class(instruction, s, keys) for s in instruction.samples)
        if instruction.samples:
            refusals = sum(len(g.samples) for _, g in instruction_guardrails(instruction, gmap))
            if refusals:
                counts[(instruction.name, UNK.key)] += refusals
    return counts


def sample_counts(protocol: "Protocol") -> Counter[Stratum]:
    """:func:`strata_counts` without the guardrail refusals."""
    keys = protocol.key_map()
    return Counter(_sample_class(i, s, keys) for i in protocol.instructions for s in i.samples)


def split_assignment(counts: Counter[Stratum], val_split: float, seed: int) -> dict[Stratum, frozenset[int]]:
    """For each stratum, the ordinals (0-based, in render order) of the examples that go to validation.

    The total is ``round(N * val_split)`` (at least one when ``val_split > 0``),
    shared out by largest remainder; a stratum never gives all its examples
    away. Only ``seed`` decides which examples are picked.
    """
    if not 0.0 <= val_split < 1.0:
        raise SplitError(f"val_split must be at least 0 and below 1 (e.g. 0.1), got {val_split}.")
    strata = sorted(counts)
    total = sum(counts.values())
    if val_split == 0 or total < 2:
        return {s: frozenset() for s in strata}
    target = max(1, round(total * val_split))
    room = {s: counts[s] - 1 for s in strata}  # keep one example of every class in training
    target = min(target, sum(room.values()))
    exact = {s: counts[s] * val_split for s in strata}
    take = {s: min(int(exact[s]), room[s]) for s in strata}
    rng = random.Random(seed)
    tiebreak = {s: rng.random() for s in strata}
    by_remainder = sorted(strata, key=lambda s: (-(exact[s] - int(exact[s])), tiebreak[s]))
    missing = target - sum(take.values())
    while missing > 0:
        progressed = False
        for s in by_remainder:
            if missing == 0:
                break
            if take[s] < room[s]:
                take[s] += 1
                missing -= 1
                progressed = True
        if not progressed:
            break
    return {s: frozenset(rng.sample(range(counts[s]), take[s])) for s in strata}


def stratified_split(
    examples: Sequence[_Example], val_split: float, seed: int
) -> tuple[list[_Example], list[_Example]]:
    """(train, val) of ``examples`` (in render order), both in their original order, by :func:`split_assignment`."""
    counts: Counter[Stratum] = Counter(stratum(e) for e in examples)
    chosen = split_assignment(counts, val_split, seed)
    seen: Counter[Stratum] = Counter()
    train: list[_Example] = []
    val: list[_Example] = []
    for example in examples:
        s = stratum(example)
        (val if seen[s] in chosen[s] else train).append(example)
        seen[s] += 1
    return train, val
