"""Warnings for samples too uniform to generalise: a final taught by a few sentence patterns with words swapped.

A protocol built the way game designers write one (six patterns per final, each
filled with items or names) validates, trains and answers its own prompts, yet
teaches a model patterns rather than meaning (docs/quality.md). What is counted
here: per final, the **sentence patterns** of its samples' varying input lines.
Two samples follow one pattern when their words differ only in one run of at
most :data:`MAX_FILLER_WORDS` words (the filler: an item, a place, a name) and
they share at least one word; each pattern is claimed greedily, largest first,
so a chain of small differences does not merge different sentences. A final
whose samples average :data:`SAMPLES_PER_PATTERN` or more per pattern gets a
warning. On the NPC benchmark (bench/npc) it counts six patterns for 18 of its 19
finals (seven for one) and warns for all; for its held-out prompts, written by
players, for none; on CLINC150's crowd-written queries (10 per intent) for 2 of
120 intents, the two whose queries are two sentences with the card or the meal
swapped. A final with more than :data:`MAX_JUDGED` samples is judged on that
many, spread over its samples, so the check costs the same on a million-sample
file; no model is needed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Sequence

from ..errors import Problem
from ..authoring import BaseInstruction

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["uniformity_warnings", "count_patterns", "varying_lines", "SAMPLES_PER_PATTERN", "MAX_FILLER_WORDS", "MAX_JUDGED"]

#: A final warns when its samples average this many or more per sentence pattern.
SAMPLES_PER_PATTERN = 4
#: The longest run of words two samples of one pattern may differ in ("village of Elmstead": 3).
MAX_FILLER_WORDS = 4
#: Words of a sample looked at (the start of a long line): keeps the check linear on long texts.
MAX_WORDS = 40
#: Samples of one final looked at, spread over all of them: patterns show in a few hundred.
MAX_JUDGED = 200
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_LINE_BREAK = "\n"  # between the words of two input lines: never a word itself


def _words(lines: Sequence[str]) -> tuple[str, ...]:
    words: list[str] = []
    for i, line in enumerate(lines):
        if i:
            words.append(_LINE_BREAK)
        words.extend(_WORD.findall(line.lower()))
    return tuple(words[:MAX_WORDS])


def count_patterns(texts: Sequence[Sequence[str]]) -> tuple[int, tuple[str, ...] | None]:
    """The number of sentence patterns among samples (each the input lines that vary), and the largest pattern
    (its words with ``"…"`` where its samples differ; None when no two samples share one)."""
    members: dict[tuple[tuple[str, ...], tuple[str, ...]], set[int]] = defaultdict(set)
    for index, lines in enumerate(texts):
        words = _words(lines)
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + MAX_FILLER_WORDS) + 1):
                if end - start < len(words):  # at least one word is kept
                    members[words[:start], words[end:]].add(index)
    claimed: set[int] = set()
    patterns = 0
    largest = None
    for (before, after), found in sorted(members.items(), key=_most_samples_fewest_masked):
        free = found - claimed
        if len(free) >= 2:
            claimed |= free
            patterns += 1
            largest = largest or (*before, "…", *after)
    return patterns + len(texts) - len(claimed), largest


def _most_samples_fewest_masked(item: tuple[tuple[tuple[str, ...], tuple[str, ...]], set[int]]) -> tuple[int, int]:
    """Largest groups first; among equal ones the pattern that keeps the most words (the slot, not its sentence)."""
    (before, after), found = item
    return -len(found), -len(before) - len(after)


def varying_lines(instruction: BaseInstruction) -> list[int]:
    """The input lines (the prompt included) whose text differs between samples: what a user words (a fixed
    scene line says nothing of wording)."""
    samples = instruction.samples
    return [i for i in range(len(samples[0].inputs) if samples else 0)
            if len({sample.inputs[i].string for sample in samples}) > 1]


def uniformity_warnings(protocol: "Protocol") -> list[Problem]:
    """A ``final.uniform-samples`` warning for each final whose samples are a few sentence patterns refilled.

    These never stop a save: the protocol is valid, but new wording will be
    read by the words it shares with a pattern rather than by its meaning.
    """
    warnings = []
    for index, instruction in enumerate(protocol.instructions):
        lines = varying_lines(instruction)
        if not lines:
            continue
        by_final: dict[str, list[list[str]]] = defaultdict(list)
        for sample in instruction.samples:
            by_final[sample.final.name].append([sample.inputs[i].string for i in lines])
        for final, every in by_final.items():
            texts = [every[(i * len(every)) // MAX_JUDGED] for i in range(MAX_JUDGED)] if len(every) > MAX_JUDGED \
                else every
            patterns, largest = count_patterns(texts)
            if len(texts) < SAMPLES_PER_PATTERN * patterns:
                continue
            judged = f" ({len(texts)} looked at, spread over them)" if len(texts) < len(every) else ""
            example = " ".join(largest or ()).replace(f" {_LINE_BREAK} ", " | ")
            warnings.append(Problem(
                "final.uniform-samples", f"instruction {instruction.name!r} final {final!r}",
                f"its {len(every)} samples{judged} follow {patterns} sentence pattern{'s' if patterns != 1 else ''} "
                f"({len(texts) / patterns:.1f} per pattern, e.g. {example!r}): a model learns the patterns, and new "
                f"wording lands on the final that shares its words. Samples of one pattern differ in one run of at "
                f"most {MAX_FILLER_WORDS} words.",
                "Write samples in other wordings (other sentence structures, slang, indirect requests, typos), "
                "or draft some with `mtp augment` and review them.",
                ("instructions", index, "finals", final)))
    return warnings
