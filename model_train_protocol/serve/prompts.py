"""Read a whole model prompt back into its instruction, lines and numbers (for the OpenAI-compatible endpoint).

Tools that speak the OpenAI completions API send the prompt as text. The
text must be exactly what the template's input lines give once filled (what
``build_prompt`` writes, ``<RUN>`` and its newline at the end): it is matched
against each instruction's lines, its slots read back, and the prompt built
again from them must be the same text, so numbers are range-checked and
nothing the template would not produce reaches the model.

A state machine's or multi-classifier's prompt may leave out the response-set
line (``State_``) before ``<RUN>``, as the reference's game-engine runtime
sends it (:func:`..infer.prompt.omissible_line`): when exactly one such
instruction matches without it, it is put back.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from ..errors import MTPValueError
from ..infer import InstructionSpec, build_prompt
from ..infer.prompt import omissible_line
from ..runtime import NUM_PLACEHOLDER, STRING

__all__ = ["read_prompt", "with_response_line"]

_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_SLOT = re.compile(re.escape(STRING) + "|" + NUM_PLACEHOLDER.pattern)


def _pattern(spec: InstructionSpec) -> tuple[re.Pattern[str], list[str]]:
    """A regex for the instruction's filled prompt, and the kind of each group: text, number or list."""
    parts, kinds = [], []
    for line in spec.input_lines:
        position = 0
        for slot in _SLOT.finditer(line):
            parts.append(re.escape(line[position:slot.start()]))
            if slot.group(0) == STRING:
                parts.append(r"([^\n]*)")
                kinds.append("text")
            elif slot.group(3) is not None:
                parts.append(rf"(\[(?:{_NUMBER}(?:, {_NUMBER})*)?\])")
                kinds.append("list")
            else:
                parts.append(f"({_NUMBER})")
                kinds.append("number")
            position = slot.end()
        parts.append(re.escape(line[position:]))
    return re.compile("".join(parts) + "\n", re.S), kinds


#: Digits a number in a prompt may have: more than any placeholder's range (a float's, 309 digits) allows, far
#: fewer than Python's integer-to-text limit (4,300), past which ``int()`` raises.
_MAX_DIGITS = 400


def _number(text: str) -> int | float:
    if len(text) > _MAX_DIGITS:
        raise MTPValueError(f"a number in the prompt is {len(text)} characters long; a number slot takes at most "
                            f"{_MAX_DIGITS} (no placeholder's range reaches further).")
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)


def with_response_line(specs: Iterable[InstructionSpec], prompt: str) -> str:
    """``prompt``, with the response-set line put back before ``<RUN>`` when it lacks it and is otherwise the
    filled input lines of exactly one state machine or multi-classifier (unchanged in every other case)."""
    candidates = list(specs)
    if not prompt.endswith("\n"):
        prompt += "\n"
    if any(_pattern(spec)[0].fullmatch(prompt) for spec in candidates):
        return prompt
    found = []
    for spec in candidates:
        line = omissible_line(spec)
        run = spec.input_lines[-1]
        if line is not None and prompt.endswith(run + "\n"):
            completed = prompt[: -len(run) - 1] + line + run + "\n"
            if _pattern(spec)[0].fullmatch(completed):
                found.append(completed)
    return found[0] if len(found) == 1 else prompt


def read_prompt(specs: Iterable[InstructionSpec], prompt: str) -> tuple[InstructionSpec, list[str], list[Any]]:
    """The first instruction whose filled input lines are ``prompt``, with the lines and numbers that fill them.

    A prompt without the final newline after ``<RUN>`` gets it, one without a
    state machine's response-set line gets it too (:func:`with_response_line`).
    Raises :class:`MTPValueError` when no instruction's lines match, or when
    the slots of the one that matches hold values the template would not write.
    """
    candidates = list(specs)
    prompt = with_response_line(candidates, prompt)
    for spec in candidates:
        pattern, kinds = _pattern(spec)
        match = pattern.fullmatch(prompt)
        if match is None:
            continue
        lines = [g for g, kind in zip(match.groups(), kinds) if kind == "text"]
        numbers = [json.loads(g, parse_int=_number) if kind == "list" else _number(g)
                   for g, kind in zip(match.groups(), kinds) if kind != "text"]
        try:
            rebuilt = build_prompt(spec, lines, numbers)
        except MTPValueError as exc:
            raise MTPValueError(f"the prompt has the lines of instruction {spec.name!r}, but {exc}") from None
        if rebuilt != prompt:
            raise MTPValueError(f"the prompt has the lines of instruction {spec.name!r} but is not what its "
                                "template writes (a line break inside a line, or a number written differently); "
                                "fill the template's input lines exactly.")
        return spec, lines, numbers
    names = ", ".join(s.name for s in candidates)
    raise MTPValueError(f"the prompt is not the filled input lines of any instruction ({names}); fill one "
                        "instruction's input lines (GET /models lists them) and end with '<RUN>' and a newline.")
