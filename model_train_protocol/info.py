"""What is inside a protocol: counts, distributions, duplicates, and warnings about thin or skewed data.

The numbers help decide whether a protocol is ready to train before paying for
it: a final with five samples or a class ten times larger than another train
badly even though the protocol is valid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .instructions import instruction_guardrails
from .validation import collect_tokens

if TYPE_CHECKING:
    from .instructions import BaseInstruction
    from .protocol import Protocol

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
    """One instruction: its kind, samples per final, duplicates and context lines."""

    name: str
    kind: str
    samples: int
    finals: dict[str, int]
    duplicates: int
    context_lines: int
    guardrail_examples: int


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
    return InstructionStats(
        name=instruction.name,
        kind=instruction.kind,
        samples=len(instruction.samples),
        finals=finals,
        duplicates=duplicates,
        context_lines=len(instruction.background),
        guardrail_examples=refusals,
    )


def _warnings(stats: list[InstructionStats], thin: int, ratio: float) -> list[str]:
    out = []
    for s in stats:
        for final, n in s.finals.items():
            if n < thin:
                out.append(f"instruction {s.name!r}: final {final!r} has only {n} sample(s); "
                           f"{thin} or more train more reliably.")
        counts = [n for n in s.finals.values() if n > 0]
        if len(counts) > 1 and max(counts) >= ratio * min(counts):
            big = max(s.finals, key=lambda k: s.finals[k])
            small = min((k for k in s.finals if s.finals[k] > 0), key=lambda k: s.finals[k])
            out.append(f"instruction {s.name!r} is imbalanced: final {big!r} has {s.finals[big]} samples, "
                       f"{small!r} only {s.finals[small]} (ratio {max(counts) / min(counts):.1f}).")
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
