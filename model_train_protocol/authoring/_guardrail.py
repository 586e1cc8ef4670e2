"""Guardrails: what the model answers when a user prompt is off topic."""

from __future__ import annotations

from ..constants import MIN_GUARDRAIL_SAMPLES
from ..errors import GuardrailError, GuardrailTypeError

__all__ = ["Guardrail", "MIN_GUARDRAIL_SAMPLES"]



class Guardrail:
    """Describes good and bad prompts and the fixed answer to bad ones.

    ``add_sample`` records examples of bad prompts; at least three are needed.
    MTP 0.3 forbids digits in them and the reference dropped that rule in 0.4:
    ``validate`` reports digits when the layout is bloom 0.3.2 (rule
    ``guardrail.digits``), so a script written for a later release runs.
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
            raise GuardrailTypeError(f"Sample prompt must be a non-empty string, got {type(prompt).__name__} {prompt!r}.")
        if not prompt.strip():
            raise GuardrailError("Sample prompt must be a non-empty string; give an example of an off-topic prompt.")
        self.samples.append(prompt)

    def format_samples(self) -> list:
        """``[bad_output, "<bad_prompt>", "<good_prompt>", [samples...]]``, the reference's view of a guardrail
        (its prompts in angle brackets, as bloom 0.1/0.2 wrote them)."""
        if len(self.samples) < MIN_GUARDRAIL_SAMPLES:
            raise GuardrailError(f"Guardrail has {len(self.samples)} sample prompt(s). At least "
                                 f"{MIN_GUARDRAIL_SAMPLES} sample prompts are required; add them with add_sample().")
        return [self.bad_output, f"<{self.bad_prompt}>", f"<{self.good_prompt}>", list(self.samples)]

    def __repr__(self) -> str:
        return f"Guardrail(bad_output={self.bad_output!r}, samples={len(self.samples)})"
