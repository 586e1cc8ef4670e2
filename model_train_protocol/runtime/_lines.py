"""The strings of the line format a runtime needs, shared with the authoring side (which imports them from here).

A runtime fills prompts and reads answers with these alone: no renderer,
token objects or protocol are needed once a model is compiled.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Iterable, Mapping, Sequence

from ..constants import EOS_STRING, NUM_PLACEHOLDER, STRING_PLACEHOLDER, UNK_STRING

__all__ = ["STRING", "NUM_PLACEHOLDER", "EOS_KEY", "UNK_KEY", "REFUSAL_SUFFIX", "is_refusal_key",
           "fill_input_lines", "format_labels", "read_labels"]

#: A text slot of a template's input line.
STRING = STRING_PLACEHOLDER
#: The key that ends every answer, and the one a refusal's final stands for.
EOS_KEY = EOS_STRING
UNK_KEY = UNK_STRING
#: Appended to a final's key (template 1.1+) to mark a guardrail refusal (FORMAT.md 3.4).
REFUSAL_SUFFIX = UNK_KEY + "_"


def is_refusal_key(key: str) -> bool:
    """Whether a template's final key closes a refusal: ``<UNK>`` or ``...<UNK>_``. No token key holds ``<``."""
    return key == UNK_KEY or key.endswith(REFUSAL_SUFFIX)


def _format_number(n: "int | float") -> str:
    return str(n)


def _format_list(values: "Sequence[int | float]") -> str:
    return "[" + ", ".join(_format_number(n) for n in values) + "]"


def fill_input_lines(
    lines: Sequence[str], texts: Sequence[str], numbers: Sequence["int | float | Sequence[int | float]"] = ()
) -> str:
    """A template's input lines with ``<string>`` and ``<num_..>`` filled in order: the model input.

    This is what a runtime does with ``instructions[name].input``; for a
    sample's strings and numbers it equals the renderer's prompt (the newline
    after ``<RUN>`` separates prompt from completion). Range checks belong to
    the caller, which knows where the values came from.
    """
    text_iter, num_iter = iter(texts), iter(numbers)

    def number(match: "re.Match[str]") -> str:
        value = next(num_iter)
        return _format_list(value) if match.group(3) is not None else _format_number(value)  # type: ignore[arg-type]

    filled = []
    for line in lines:
        line = NUM_PLACEHOLDER.sub(number, line)
        if STRING in line:
            head, tail = line.split(STRING, 1)
            line = head + next(text_iter) + tail
        filled.append(line)
    return "".join(filled) + "\n"


def format_labels(labels: Mapping[str, str], order: Iterable[str] | None = None) -> str:
    """A multi-classifier's answer line: Python ``repr`` quoting (``{'a': 'x', 'b': 'y'}``), labels in the order
    given, or in ``order`` (a state map's labels) when named."""
    return "{" + ", ".join(f"{label!r}: {labels[label]!r}" for label in (labels if order is None else order)) + "}"


def read_labels(text: str) -> dict[str, str] | None:
    """The label dict of an answer line in JSON or Python-literal form; None when it is not a dict of strings."""
    value: Any = None
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    return value
