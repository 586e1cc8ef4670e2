"""Guardrails: what the model answers when a user prompt is off topic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .errors import GuardrailError, GuardrailTypeError

if TYPE_CHECKING:
    from .instructions import BaseInstruction

__all__ = ["Guardrail", "MIN_GUARDRAIL_SAMPLES", "guardrail_map", "guardrail_conflicts", "instruction_guardrails"]

#: A guardrail needs this many examples of bad prompts before it can be saved.
MIN_GUARDRAIL_SAMPLES = 3


class Guardrail:
    """Describes good and bad prompts and the fixed answer to bad ones.

    ``add_sample`` records examples of bad prompts; at least three are needed
    and, as in MTP 0.3, they may not contain digits.
    """

    __slots__ = ("good_prompt", "bad_prompt", "bad_output", "samples")

    def __init__(self, good_prompt: str, bad_prompt: str, bad_output: str) -> None:
        self.good_prompt = good_prompt
        self.bad_prompt = bad_prompt
        self.bad_output = bad_output
        self.samples: list[str] = []

    def __setattr__(self, attribute: str, value: object) -> None:
        """The texts are checked on every change, not only in the constructor (the samples by ``validate``)."""
        if attribute in ("good_prompt", "bad_prompt", "bad_output"):
            if not isinstance(value, str):
                raise GuardrailTypeError(f"Guardrail {attribute} must be a string, got {type(value).__name__} {value!r}.")
            if not value.strip():
                raise GuardrailError(f"Guardrail {attribute} cannot be empty; describe it in a few words.")
        object.__setattr__(self, attribute, value)

    def add_sample(self, prompt: str) -> None:
        """Add one example of a prompt that must be refused."""
        if not isinstance(prompt, str):
            raise GuardrailTypeError(f"Guardrail sample must be a string, got {type(prompt).__name__} {prompt!r}.")
        if not prompt.strip():
            raise GuardrailError("Guardrail sample cannot be empty; give an example of an off-topic prompt.")
        digits = [ch for ch in prompt if ch.isdigit()]
        if digits:
            raise GuardrailError(
                f"Guardrail sample {prompt!r} contains the digit {digits[0]!r}; bad-prompt examples may not "
                "contain digits (write numbers as words)."
            )
        self.samples.append(prompt)

    def __repr__(self) -> str:
        return f"Guardrail(bad_output={self.bad_output!r}, samples={len(self.samples)})"


def guardrail_map(instructions: "Iterable[BaseInstruction]") -> dict[str, Guardrail]:
    """Guardrail of each guarded TokenSet, by value-key.

    TokenSets with the same tokens in the same order are the same line to the
    model, so a guardrail set on one of them guards all of them (the first one
    found wins; :func:`guardrail_conflicts` reports disagreements).
    """
    found: dict[str, Guardrail] = {}
    for instruction in instructions:
        for ts in instruction.guarded_sets:
            guardrail = ts.effective_guardrail
            if guardrail is not None:
                found.setdefault(ts.value_key, guardrail)
    return found


def guardrail_conflicts(instructions: "Iterable[BaseInstruction]") -> list[tuple[str, Guardrail, Guardrail]]:
    """(value-key, first, other) for equal TokenSets that carry different guardrails."""
    first: dict[str, Guardrail] = {}
    conflicts = []
    for instruction in instructions:
        for ts in instruction.guarded_sets:
            g = ts.effective_guardrail
            if g is None:
                continue
            seen = first.setdefault(ts.value_key, g)
            if seen is not g and not any(c[0] == ts.value_key and c[2] is g for c in conflicts):
                conflicts.append((ts.value_key, seen, g))
    return conflicts


def instruction_guardrails(instruction: "BaseInstruction", gmap: dict[str, Guardrail]) -> list[tuple[int, Guardrail]]:
    """(input index, guardrail) for every guarded line of an instruction, in index order."""
    return [(i, gmap[ts.value_key]) for i, ts in enumerate(instruction.guarded_sets) if ts.value_key in gmap]
