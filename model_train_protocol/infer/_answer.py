"""The typed result of one model run, and the parser of what a model wrote."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MTPValueError
from ..runtime import EOS_KEY, Final, InstructionSpec

__all__ = ["Answer", "parse_completion", "MalformedOutput"]


class MalformedOutput(MTPValueError):
    """A completion does not have the template's shape (only possible without constrained decoding)."""


@dataclass(frozen=True)
class Answer:
    """What the model answered.

    ``final`` is the token's name (``Vanish``; ``<UNK>`` for a refusal),
    ``final_key`` what the model wrote (a hash when the protocol is encrypted),
    ``value`` the integer the model wrote after a numeric final's key
    (``Madness_5`` -> 5; None for other finals), ``guardrail`` whether the
    prompt was refused, ``raw`` the completion.

    ``confidence`` and ``candidate`` let an evaluation replay a refusal
    threshold without rerunning the model: ``confidence`` is the in-scope
    confidence in [0, 1] of the final chosen before any threshold (None when
    the decoder does not measure it), ``candidate`` the name of that final
    (``<UNK>`` when the model itself wrote the refusal; ``""`` means the same
    as ``final``). ``prompt_similarity`` is the similarity of the guarded line
    to the training lines (None when the similarity refusal is off), and
    ``refused_by`` why a refusal was given: ``"model"`` (it wrote the
    guardrail's answer), ``"similarity"``, ``"intent"`` (the intent head's refusal class won) or
    ``"confidence"``; None otherwise. ``intent`` is the intent head's decision (see
    :mod:`~model_train_protocol.infer._intent`): the answer is the head's final with the answer text of
    the nearest training sample of that final, and the language model is not run unless it must be (see
    ``Model.complete``); where it ran, ``model_final`` keeps its own choice.

    ``state`` is a state machine's answer (one of its states; None for a
    refusal and for other kinds), ``labels`` a multi-classifier's (label ->
    value, in the answer line's sorted order; None for other kinds).
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
    confidence: float | None = None
    candidate: str = ""
    prompt_similarity: float | None = None
    refused_by: str | None = None
    state: str | None = None
    labels: dict[str, str] | None = None
    #: what the language model itself chose (its final's name, or a state machine's state), before the head;
    #: "" where the head answered alone and the model was not run (``Model.ask_model`` runs it)
    model_final: str = ""
    #: the intent head's class for the prompt (a final's name, a state, or ``<refuse>``); None without a head
    intent: str | None = None
    intent_probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _read_final(line: str, spec: InstructionSpec) -> tuple[Final | None, int | None]:
    """The final a final line names and, for a numeric final, the in-range integer after its key."""
    exact = spec.final_for_key(line)
    if exact is not None and not exact.numeric:
        return exact, None
    for final in spec.finals:
        rest = line[len(final.key) :]
        if final.numeric and line.startswith(final.key) and _INTEGER.fullmatch(rest):
            lo, hi = final.int_range()
            if lo <= int(rest) <= hi:
                return final, int(rest)
    return None, None


def parse_completion(raw: str, spec: InstructionSpec) -> Answer:
    """Read ``text\\nFINAL\\n<EOS>`` against the instruction's allowed finals.

    FINAL is a final's key, followed for a numeric final by an integer in its
    range (``Madness_5``). Raises :class:`MalformedOutput` when the completion
    has another shape, names a final the instruction does not allow, or lacks
    a numeric final's in-range integer.

    For a state machine or multi-classifier the text must also be one of its
    states (a canonical label line with allowed values) unless FINAL is the
    guardrail's: a refusal is recognised by its final line, whatever its text.
    """
    parts = raw[: -len(EOS_KEY)].split("\n") if raw.endswith(EOS_KEY) else []
    final, value = _read_final(parts[1], spec) if len(parts) == 3 and parts[2] == "" else (None, None)
    if final is None:
        allowed = ", ".join(f.key + (f"<int {f.int_range()[0]}..{f.int_range()[1]}>" if f.numeric else "")
                            for f in spec.outputs)
        raise MalformedOutput(
            f"instruction {spec.name!r}: output {raw!r} is not 'text\\nFINAL\\n<EOS>' with FINAL one of {allowed}."
        )
    refused = final in spec.guardrails
    choice = spec.answer_choice(parts[0]) if spec.choice and not refused else None
    if spec.choice and not refused and choice is None:
        what = "one of its states" if spec.states is not None else "its label line with one allowed value per label"
        raise MalformedOutput(f"instruction {spec.name!r}: answer {parts[0]!r} is not {what}.")
    return Answer(
        text=parts[0],
        final=final.name,
        final_key=final.key,
        value=value,
        guardrail=refused,
        raw=raw,
        instruction=spec.name,
        state=choice if isinstance(choice, str) else None,
        labels=choice if isinstance(choice, dict) else None,
    )
