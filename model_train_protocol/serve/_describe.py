"""What ``GET /models`` says about each model and instruction: how to fill a prompt, what can come back.

It is the template's contract (:class:`~model_train_protocol.infer.InstructionSpec`)
in JSON: the input lines with their ``<string>`` and number slots, the
number ranges, the finals (with a numeric final's range), whether the
instruction can refuse, and a request body ready to send.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..infer import (AnswerGrammar, AnyDigits, Branch, DigitRange, Final, FreeLine, InstructionSpec, Line, LineChoice,
                     Pattern, Sequence, Text, answer_grammar, integer_pattern)

if TYPE_CHECKING:
    from ..infer import Model

__all__ = ["describe_model", "describe_instruction", "answer_regex", "write_regex"]

#: Numeric finals with at most this many integers in range list them in the regex; wider ones spell the range out
#: digit by digit (:func:`..infer.integer_pattern`).
_LISTED_INTEGERS = 200


def _pattern(pattern: Pattern) -> str:
    """A digit pattern of the grammar as a Python/RE2-compatible regex."""
    if isinstance(pattern, Text):
        return pattern.text  # digits and "-", literal outside a class in every regex dialect
    if isinstance(pattern, DigitRange):
        return f"[{pattern.low}-{pattern.high}]"
    if isinstance(pattern, AnyDigits):
        return "[0-9]" if pattern.count == 1 else f"[0-9]{{{pattern.count}}}"
    if isinstance(pattern, Sequence):
        return "".join(map(_pattern, pattern.parts))
    return "(?:" + "|".join(map(_pattern, pattern.options)) + ")"


def _final_pattern(final: Final) -> str:
    key = re.escape(final.key)
    if not final.numeric:
        return key
    lo, hi = final.int_range()
    if lo > hi:
        return key + "(?!)"  # no integer in range: nothing may follow the key
    if hi - lo + 1 <= _LISTED_INTEGERS:
        return key + "(?:" + "|".join(str(n) for n in range(hi, lo - 1, -1)) + ")"
    return key + _pattern(integer_pattern(lo, hi))


def _line(line: Line) -> str:
    if isinstance(line, FreeLine):
        return r"[^\n]+"
    if isinstance(line, LineChoice):
        return "(?:" + "|".join(map(re.escape, line.lines)) + ")"
    return "(?:" + re.escape("{") + re.escape(", ").join(
        re.escape(f"{label!r}: ") + "(?:" + "|".join(re.escape(repr(v)) for v in values) + ")"
        for label, values in line.labels) + re.escape("}") + ")"


def _branch(branch: Branch, end: str) -> str:
    return _line(branch.line) + r"\n(?:" + "|".join(map(_final_pattern, branch.finals)) + r")\n" + re.escape(end)


def write_regex(grammar: AnswerGrammar) -> str:
    """The regex of an answer grammar's completions, ``<EOS>`` included (meant to match a whole completion)."""
    branches = [_branch(b, grammar.end) for b in grammar.branches]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def answer_regex(spec: InstructionSpec) -> str:
    """A regex of every completion the template allows: a text line, an allowed final, ``<EOS>``.

    What engines with regex-constrained decoding (vLLM, SGLang) take to keep a
    served model to the template's answers, as ``mtp run`` does (it is meant
    to match a whole completion): the same :func:`..infer.answer_grammar`
    the Python decoder walks.
    """
    return write_regex(answer_grammar(spec))


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
