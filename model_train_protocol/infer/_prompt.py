"""The model input, built from the template's lines exactly as a game-engine plugin would, and read back.

Reading back (:func:`read_prompt`, for ``mtp run --prompt`` and the OpenAI-compatible endpoint, whose clients
send the prompt as text): the text must be exactly what the template's input lines give once filled (what
:func:`build_prompt` writes, ``<RUN>`` and its newline at the end). It is matched against each instruction's
lines, its slots read back, and the prompt built again from them must be the same text, so numbers are
range-checked and nothing the template would not produce reaches the model. A state machine's or
multi-classifier's prompt may leave out the response-set line (``State_``) before ``<RUN>``, as the
reference's game-engine runtime sends it (``InstructionSpec.omissible_line``): when exactly one such instruction
matches without it, it is put back.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, Sequence

from ..errors import MTPValueError
from ..runtime import NUM_PLACEHOLDER, STRING, InstructionSpec, fill_input_lines

__all__ = ["build_prompt", "read_lines", "clean_line", "check_sampling", "check_user_text",
           "read_prompt", "with_response_line"]


def clean_line(text: str) -> str:
    """One line of text: newlines would break the line format, so they become spaces."""
    if not isinstance(text, str):
        raise MTPValueError(f"input lines must be strings, got {type(text).__name__} {text!r}.")
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def build_prompt(spec: InstructionSpec, lines: Sequence[str], numbers: Sequence[Any] = ()) -> str:
    """Fill ``spec``'s input lines: ``lines`` go into the ``<string>`` slots, ``numbers`` into the number placeholders.

    ``numbers`` is flat, in placeholder order: an integer for ``<num_MIN_MAX>``,
    a list for ``<num_MIN_MAX_LEN>``; each is checked against its range.
    """
    if isinstance(lines, str):
        lines = [lines]
    if len(lines) != spec.text_lines:
        raise MTPValueError(
            f"instruction {spec.name!r} takes {spec.text_lines} input line(s), got {len(lines)}; "
            "pass one text per line of the template, in order (the last is the newest)."
        )
    numbers = list(numbers)
    if len(numbers) != len(spec.placeholders):
        wanted = "; ".join(p.describe() for p in spec.placeholders) or "none"
        raise MTPValueError(
            f"instruction {spec.name!r} takes {len(spec.placeholders)} number(s), got {len(numbers)}: expected {wanted}."
        )
    checked = [p.check(v) for p, v in zip(spec.placeholders, numbers)]
    return fill_input_lines(spec.input_lines, [clean_line(t) for t in lines], checked)


def read_lines(spec: InstructionSpec, prompt: str) -> list[str] | None:
    """The text lines of a prompt built from ``spec``'s input lines (the inverse of :func:`build_prompt`), or None."""
    slot = re.compile(re.escape(STRING) + "|" + NUM_PLACEHOLDER.pattern)
    pattern = ""
    for line in spec.input_lines:
        end = 0
        for m in slot.finditer(line):
            pattern += re.escape(line[end:m.start()]) + ("([^\n]*)" if m.group(0) == STRING else "[^\n]*?")
            end = m.end()
        pattern += re.escape(line[end:])
    found = re.fullmatch(pattern + "\n", prompt)  # build_prompt ends the prompt with a newline
    return list(found.groups()) if found else None


def check_user_text(spec: InstructionSpec, prompt: str, structural: "re.Pattern[str] | None") -> None:
    """Refuse a prompt whose text lines hold a structural string: the tokenizer would make it the token itself
    (``<RUN>`` typed by a user would end the input), and training refuses such text too (``string.structural``)."""
    if structural is None:
        return
    for number, line in enumerate(read_lines(spec, prompt) or (), 1):
        found = structural.search(line)
        if found:
            raise MTPValueError(f"text line {number} holds {found.group(0)!r}, a structural token of this model; "
                                "user text may not contain structural tokens (special tokens and keys): reword it.")


def check_sampling(temperature: float, seed: int | None, flags: bool = False) -> None:
    """Sampling settings a run can use: a finite temperature above 0, a seed torch accepts (0 to 2**63 - 1)."""
    name, seed_name = ("--temperature", "--seed") if flags else ("temperature", "seed")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature) \
            or temperature <= 0:
        raise MTPValueError(f"{name} must be a finite number above 0 (e.g. 0.7), got {temperature!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise MTPValueError(f"{seed_name} must be an integer from 0 to 2**63 - 1.")


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
        line = spec.omissible_line
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
