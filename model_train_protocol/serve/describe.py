"""What ``GET /models`` says about each model and instruction: how to fill a prompt, what can come back.

It is the template's contract (:class:`~model_train_protocol.infer.InstructionSpec`)
in JSON: the input lines with their ``<string>`` and number slots, the
number ranges, the finals (with a numeric final's range), whether the
instruction can refuse, and a request body ready to send.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..infer import Final, InstructionSpec

if TYPE_CHECKING:
    from ..infer.model import Model

__all__ = ["describe_model", "describe_instruction", "answer_regex"]

#: Numeric finals with at most this many integers in range list them in the regex; wider ones allow any integer.
_LISTED_INTEGERS = 200


def _final_pattern(final: Final) -> str:
    key = re.escape(final.key)
    if not final.numeric:
        return key
    lo, hi = final.int_range()
    if hi - lo + 1 <= _LISTED_INTEGERS:
        return key + "(?:" + "|".join(str(n) for n in range(hi, lo - 1, -1)) + ")"
    return key + "-?(?:0|[1-9][0-9]*)"


def answer_regex(spec: InstructionSpec) -> str:
    """A regex of every completion the template allows: a text line, an allowed final, ``<EOS>``.

    What engines with regex-constrained decoding (vLLM, SGLang) take to keep a
    served model to the template's answers, as ``mtp run`` does (it is meant
    to match a whole completion).
    """
    if spec.choice:
        return _choice_regex(spec)
    finals = "|".join(_final_pattern(f) for f in spec.outputs)
    return rf"[^\n]+\n(?:{finals})\n<EOS>"


def _choice_regex(spec: InstructionSpec) -> str:
    """A state machine's or multi-classifier's completions: one of its answer lines and its final, or the refusal
    (the guardrail's answer lines when known, else any answer line, then the guardrail's final)."""
    if spec.states is not None:
        answer = "|".join(map(re.escape, spec.states))
    else:
        assert spec.labels is not None
        answer = re.escape("{") + re.escape(", ").join(
            re.escape(f"{label!r}: ") + "(?:" + "|".join(re.escape(repr(v)) for v in values) + ")"
            for label, values in spec.labels) + re.escape("}")
    finals = "|".join(_final_pattern(f) for f in spec.finals)
    pattern = rf"(?:{answer})\n(?:{finals})\n<EOS>"
    if spec.guardrails:
        refusal = "|".join(map(re.escape, spec.refusals)) if spec.refusals else answer
        unk = "|".join(re.escape(g.key) for g in spec.guardrails)
        pattern = rf"(?:{pattern}|(?:{refusal})\n(?:{unk})\n<EOS>)"
    return pattern


def describe_instruction(spec: InstructionSpec, model_name: str | None = None) -> dict[str, Any]:
    """One instruction: its input lines and how to fill them, its finals, and an example ``POST /run`` body."""
    example: dict[str, Any] = {} if model_name is None else {"model": model_name}
    example.update(instruction=spec.name, lines=[f"line {i + 1}" for i in range(spec.text_lines)],
                   numbers=[[p.min_value] * p.length if p.length else p.min_value for p in spec.placeholders])
    return {
        "name": spec.name,
        "kind": spec.kind,
        "input_lines": list(spec.input_lines),
        "lines": spec.text_lines,
        "user_lines": list(spec.user_lines) or None,
        "prompt_line": spec.prompt_line,
        "numbers": [{"line": p.line, "min": p.min_value, "max": p.max_value, "length": p.length,
                     "description": p.describe()} for p in spec.placeholders],
        "finals": [{"name": f.name, "key": f.key,
                    "range": list(f.int_range()) if f.numeric else None} for f in spec.finals],
        "can_refuse": bool(spec.guardrails),
        "states": list(spec.states) if spec.states is not None else None,
        "labels": {label: list(values) for label, values in spec.labels} if spec.labels is not None else None,
        "answer_regex": answer_regex(spec),
        "example": example,
    }


def describe_model(name: str, model: "Model", queue_limit: int) -> dict[str, Any]:
    """One served model: its name, training run, refusal threshold, answer budget and instructions."""
    section = model.manifest.get("mtp")
    settings = section.get("settings") if isinstance(section, dict) else None
    return {
        "name": name,
        "id": model.manifest.get("id"),
        "base": settings.get("base") if isinstance(settings, dict) else None,
        "threshold": model.threshold,
        "similarity_refusal": model.similarity is not None,
        "max_text_tokens": model.max_text_tokens,
        "queue_limit": queue_limit,
        "instructions": [describe_instruction(spec, name) for spec in model.specs.values()],
    }
