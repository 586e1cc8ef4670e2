"""The typed result of one model run, and the parser of what a model wrote."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MTPValueError
from ..tokens import EOS
from .spec import InstructionSpec

__all__ = ["Answer", "parse_completion", "MalformedOutput"]


class MalformedOutput(MTPValueError):
    """A completion does not have the template's shape (only possible without constrained decoding)."""


@dataclass(frozen=True)
class Answer:
    """What the model answered.

    ``final`` is the token's name (``Vanish``; ``<UNK>`` for a refusal),
    ``final_key`` what the model wrote (a hash when the protocol is encrypted),
    ``value`` the number of a numeric final: always None, since MTP answers
    carry only the final's key (the template's outputs have no number, and the
    renderer trains none), ``guardrail`` whether the prompt was refused, ``raw``
    the completion.
    """

    text: str
    final: str
    final_key: str
    value: int | float | None = None
    guardrail: bool = False
    raw: str = ""
    instruction: str = ""
    #: probability of each allowed final (by name) at the point the model chose it
    final_probs: dict[str, float] = field(default_factory=dict)
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_completion(raw: str, spec: InstructionSpec) -> Answer:
    """Read ``text\\nKEY\\n<EOS>`` against the instruction's allowed finals.

    Raises :class:`MalformedOutput` when the completion has another shape or
    names a final the instruction does not allow.
    """
    parts = raw[: -len(EOS.key)].split("\n") if raw.endswith(EOS.key) else []
    final = spec.final_for_key(parts[1]) if len(parts) == 3 and parts[2] == "" else None
    if final is None:
        allowed = ", ".join(f.key for f in spec.outputs)
        raise MalformedOutput(
            f"instruction {spec.name!r}: output {raw!r} is not 'text\\nFINAL\\n<EOS>' with FINAL one of {allowed}."
        )
    return Answer(
        text=parts[0],
        final=final.name,
        final_key=final.key,
        guardrail=final is spec.guardrail,
        raw=raw,
        instruction=spec.name,
    )
