"""What is inside a protocol: counts, distributions, duplicates, and warnings about thin or skewed data.

The numbers help decide whether a protocol is ready to train before paying for
it: a final with five samples or a class ten times larger than another train
badly even though the protocol is valid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..authoring import MultiClassifierInstruction, StateMachineInstruction, instruction_guardrails
from ..runtime import read_labels
from ._validation import collect_tokens

if TYPE_CHECKING:
    from ..authoring import BaseInstruction, Protocol

__all__ = [
    "THIN_FINAL_SAMPLES",
    "IMBALANCE_RATIO",
    "LengthStats",
    "InstructionStats",
    "GuardrailStats",
    "ProtocolStats",
    "length_stats",
    "protocol_stats",
]

#: A final with fewer samples than this is flagged as thin (the hard minimum is 3).
THIN_FINAL_SAMPLES = 10
#: An instruction whose largest final has this many times the samples of its smallest is flagged as imbalanced.
IMBALANCE_RATIO = 3.0


@dataclass(frozen=True)
class LengthStats:
    """Character lengths of a group of strings."""

    count: int
    min: int
    median: float
    p90: int
    max: int


def length_stats(lengths: list[int]) -> LengthStats | None:
    """min / median / 90th percentile (nearest rank) / max of ``lengths``; None when empty."""
    if not lengths:
        return None
    ordered = sorted(lengths)
    n = len(ordered)
    mid = n // 2
    median = float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    p90 = ordered[max(0, -(-9 * n // 10) - 1)]  # nearest rank: ceil(0.9 n)-th value
    return LengthStats(n, ordered[0], median, p90, ordered[-1])


@dataclass
class InstructionStats:
    """One instruction: its kind, samples per final, duplicates and context lines.

    ``states`` (state machine): samples per state, declared states first in
    declared order, then any undeclared answer; ``labels`` (multi-classifier):
    per label, samples per value in the same way. None for other kinds.
    """

    name: str
    kind: str
    samples: int
    finals: dict[str, int]
    duplicates: int
    context_lines: int
    guardrail_examples: int
    states: dict[str, int] | None = None
    labels: dict[str, dict[str, int]] | None = None


@dataclass
class GuardrailStats:
    """One guardrail, the instructions and input lines it guards, and its bad-prompt samples."""

    bad_output: str
    samples: int
    guards: list[str]


@dataclass
class ProtocolStats:
    """Everything :func:`protocol_stats` measures; ``as_dict()`` is the JSON form."""

    name: str
    inputs: int
    encrypt: bool
    model_type: str
    instructions: list[InstructionStats]
    samples: int
    tokens: dict[str, int]
    token_names: list[str]
    context_lines: int
    protocol_context_lines: int
    guardrails: list[GuardrailStats]
    lengths: dict[str, LengthStats | None]
    duplicates: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample_identity(sample) -> tuple:
    return (
        tuple((sn.string, sn.numbers, sn.number_lists) for sn in sample.inputs),
        sample.output,
        sample.final.value,
        sample.value,
    )


def _instruction_stats(instruction: "BaseInstruction", refusals: int) -> InstructionStats:
    finals = {t.name: 0 for t in instruction.finals}
    for sample in instruction.samples:
        finals[sample.final.name] = finals.get(sample.final.name, 0) + 1
    identities = Counter(_sample_identity(s) for s in instruction.samples)
    duplicates = sum(n - 1 for n in identities.values() if n > 1)
    stats = InstructionStats(
        name=instruction.name,
        kind=instruction.kind,
        samples=len(instruction.samples),
        finals=finals,
        duplicates=duplicates,
        context_lines=len(instruction.background),
        guardrail_examples=refusals,
    )
    if isinstance(instruction, StateMachineInstruction):
        stats.states = dict.fromkeys(instruction.states, 0)
        for sample in instruction.samples:
            stats.states[sample.output] = stats.states.get(sample.output, 0) + 1
    elif isinstance(instruction, MultiClassifierInstruction):
        stats.labels = {label: dict.fromkeys(values, 0) for label, values in instruction.state_map.items()}
        for sample in instruction.samples:
            for label, value in (read_labels(sample.output) or {}).items():
                counts = stats.labels.setdefault(label, {})
                counts[value] = counts.get(value, 0) + 1
    return stats


def _warnings(stats: list[InstructionStats], thin: int, ratio: float) -> list[str]:
    out = []
    for s in stats:
        # What the model chooses between: finals, or the states / each label's values (their final is always <NON>).
        groups = [("final", "", s.finals)]
        if s.states is not None:
            groups = [("state", "", s.states)]
        elif s.labels is not None:
            groups = [("value", f"label {label!r} ", counts) for label, counts in s.labels.items()]
        for what, label, counts_of in groups:
            for item, n in counts_of.items():
                if n == 0 and what != "final":
                    out.append(f"instruction {s.name!r}: {label}{what} {item!r} has no sample; the model never "
                               "learns it.")
                elif n < thin:
                    out.append(f"instruction {s.name!r}: {label}{what} {item!r} has only {n} sample(s); "
                               f"{thin} or more train more reliably.")
            counts = [n for n in counts_of.values() if n > 0]
            if len(counts) > 1 and max(counts) >= ratio * min(counts):
                big = max(counts_of, key=lambda k: counts_of[k])
                small = min((k for k in counts_of if counts_of[k] > 0), key=lambda k: counts_of[k])
                out.append(f"instruction {s.name!r} is imbalanced: {label}{what} {big!r} has {counts_of[big]} "
                           f"samples, {small!r} only {counts_of[small]} (ratio {max(counts) / min(counts):.1f}).")
        if s.duplicates:
            out.append(f"instruction {s.name!r}: {s.duplicates} exact duplicate sample(s).")
    return out


def protocol_stats(
    protocol: "Protocol", thin: int = THIN_FINAL_SAMPLES, imbalance: float = IMBALANCE_RATIO
) -> ProtocolStats:
    """Measure ``protocol`` (valid or not) in one pass over its samples."""
    gmap = protocol.guardrail_map()
    instructions = []
    guards: dict[int, GuardrailStats] = {}
    for instruction in protocol.instructions:
        refusals = 0
        for index, guardrail in instruction_guardrails(instruction, gmap):
            entry = guards.setdefault(id(guardrail), GuardrailStats(guardrail.bad_output, len(guardrail.samples), []))
            entry.guards.append(f"{instruction.name}[{index}]")
            refusals += len(guardrail.samples) if instruction.samples else 0
        instructions.append(_instruction_stats(instruction, refusals))

    inputs: list[int] = []
    prompts: list[int] = []
    outputs: list[int] = []
    for instruction in protocol.instructions:
        extended = instruction.prompt_index is not None
        for sample in instruction.samples:
            strings = sample.inputs[:-1] if extended else sample.inputs
            inputs.extend(len(sn.string) for sn in strings)
            if extended:
                prompts.append(len(sample.inputs[-1].string))
            outputs.append(len(sample.output))
    context = [*protocol.context, *(line for i in protocol.instructions for line in i.background)]

    tokens, _ = collect_tokens(protocol)
    distinct = list({t.value: t for t in tokens}.values())
    kinds = Counter(("UserToken" if t.user else type(t).__name__) for t in distinct)

    stats = ProtocolStats(
        name=protocol.name,
        inputs=protocol.inputs,
        encrypt=protocol.encrypt,
        model_type=protocol.model_type,
        instructions=instructions,
        samples=sum(s.samples for s in instructions),
        tokens=dict(sorted(kinds.items())),
        token_names=[t.name for t in distinct],
        context_lines=len(context),
        protocol_context_lines=len(protocol.context),
        guardrails=list(guards.values()),
        lengths={
            "input": length_stats(inputs),
            "prompt": length_stats(prompts),
            "output": length_stats(outputs),
            "context": length_stats([len(line) for line in context]),
        },
        duplicates=sum(s.duplicates for s in instructions),
    )
    stats.warnings = _warnings(instructions, thin, imbalance)
    for g in stats.guardrails:
        if g.samples < thin:
            stats.warnings.append(f"guardrail {g.bad_output!r} has only {g.samples} bad-prompt sample(s); "
                                  f"{thin} or more refuse off-topic prompts more reliably.")
    return stats
