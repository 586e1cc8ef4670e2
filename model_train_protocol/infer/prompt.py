"""The model input, built from the template's lines exactly as a game-engine plugin would."""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from ..errors import MTPValueError
from ..runtime import NUM_PLACEHOLDER, STRING, InstructionSpec, fill_input_lines

__all__ = ["build_prompt", "read_lines", "clean_line", "check_sampling", "check_user_text", "omissible_line"]


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


def omissible_line(spec: InstructionSpec) -> str | None:
    """The input line a prompt of ``spec`` may leave out, or None: a state machine's or multi-classifier's
    response-set line (``State_``) right before the last one (``<RUN>``), when it has no text slot.

    The reference's game-engine runtime sends such prompts without it, so the
    runtimes that read whole prompts put it back. This is the rule's one home
    in Python; ``native/flora/flora.cpp`` (``load_instructions``) has a copy
    it cannot read from the export's data, and says so.
    """
    if not spec.choice or len(spec.input_lines) < 2 or STRING in spec.input_lines[-2]:
        return None
    return spec.input_lines[-2]


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
