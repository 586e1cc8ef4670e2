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
    return _resolve(instructions)[0]


def guardrail_conflicts(instructions: "Iterable[BaseInstruction]") -> list[tuple[str, Guardrail, Guardrail]]:
    """(value-key, first, other) for equal TokenSets that carry different guardrails."""
    return _resolve(instructions)[1]


def _resolve(instructions: "Iterable[BaseInstruction]") -> tuple[dict[str, Guardrail], list[tuple[str, Guardrail, Guardrail]]]:
    """The guardrail of each guarded line of these instructions, and the lines guarded twice.

    A line's guardrail is the one set on a TokenSet of these instructions; a line
    none of them guards takes the guardrails set on TokenSets of the very same
    token objects elsewhere (the README guards a set it never uses). Guardrails
    a TokenSet of *another* protocol carries therefore never leak in here.
    """
    sets = [ts for instruction in instructions for ts in instruction.guarded_sets]
    own: dict[str, Guardrail] = {}
    for ts in sets:
        if ts.guardrail is not None:
            own.setdefault(ts.value_key, ts.guardrail)
    found: dict[str, Guardrail] = {}
    conflicts: list[tuple[str, Guardrail, Guardrail]] = []
    for ts in sets:
        key = ts.value_key
        candidates = (ts.guardrail,) if ts.guardrail is not None else (
            (own[key],) if key in own else ts.line_guardrails)
        for g in candidates:
            seen = found.setdefault(key, g)
            if seen is not g and not any(c[0] == key and c[2] is g for c in conflicts):
                conflicts.append((key, seen, g))
    return found, conflicts


def instruction_guardrails(instruction: "BaseInstruction", gmap: dict[str, Guardrail]) -> list[tuple[int, Guardrail]]:
    """(input index, guardrail) for every guarded line of an instruction, in index order."""
    return [(i, gmap[ts.value_key]) for i, ts in enumerate(instruction.guarded_sets) if ts.value_key in gmap]
