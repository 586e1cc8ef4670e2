"""The MTP format's vocabulary in one place: the strings and plain limits every file, template and prompt uses.

Each value that is written and read back has its writer beside its parser here
(the pattern of gguf-py's ``constants.py``), so the two cannot drift apart.
This module imports nothing of the package: every layer may use it.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Mapping, Sequence

# --- special tokens: value and key are the same literal ----------------------------------------------------------
BOS_STRING = "<BOS>"
EOS_STRING = "<EOS>"
RUN_STRING = "<RUN>"
PAD_STRING = "<PAD>"
UNK_STRING = "<UNK>"
NON_STRING = "<NON>"
#: The special tokens in the order of the model file's ``tokens`` map.
SPECIAL_STRINGS: tuple[str, ...] = (BOS_STRING, EOS_STRING, NON_STRING, PAD_STRING, RUN_STRING, UNK_STRING)

# --- token values: the name plus "_" (Token("Cat") is "Cat_") ---------------------------------------------------
TOKEN_SUFFIX = "_"


def token_value(name: str) -> str:
    """The value a token of ``name`` has in files and lines: ``Cat`` -> ``Cat_``."""
    return name + TOKEN_SUFFIX


def token_name(value: str) -> str | None:
    """The name of a token ``value`` (``Cat_`` -> ``Cat``); None when ``value`` is not a name plus ``_``."""
    if len(value) < 2 or not value.endswith(TOKEN_SUFFIX):
        return None
    return value[: -len(TOKEN_SUFFIX)]


# --- token types: the model file's ``type`` field, the reference's class names -----------------------------------
class TokenType:
    """The ``type`` of a ``tokens`` entry."""

    TOKEN = "Token"
    FINAL = "FinalToken"
    NUM = "NumToken"
    FINAL_NUM = "FinalNumToken"
    NUM_LIST = "NumListToken"
    SPECIAL = "SpecialToken"
    SPECIAL_FINAL = "SpecialFinalToken"


#: The types of the tokens a protocol declares (every type but the special ones).
DECLARED_TOKEN_TYPES = frozenset({TokenType.TOKEN, TokenType.FINAL, TokenType.NUM, TokenType.FINAL_NUM,
                                  TokenType.NUM_LIST})
#: The types of the special tokens.
SPECIAL_TOKEN_TYPES = frozenset({TokenType.SPECIAL, TokenType.SPECIAL_FINAL})
#: The types that carry one number (``min_value``/``max_value``).
NUMBER_TOKEN_TYPES = frozenset({TokenType.NUM, TokenType.FINAL_NUM})


def token_type(*, number: bool, number_list: bool, final: bool) -> str:
    """The ``type`` of a declared token: a number token, a number-list token or a plain one, used as a final or not
    (a number list is never a final)."""
    if number_list:
        return TokenType.NUM_LIST
    if number:
        return TokenType.FINAL_NUM if final else TokenType.NUM
    return TokenType.FINAL if final else TokenType.TOKEN


# --- template placeholders ---------------------------------------------------------------------------------------
#: The placeholder for free text in template lines.
STRING_PLACEHOLDER = "<string>"
#: A number placeholder of the template: ``<num_MIN_MAX>`` or, for a list, ``<num_MIN_MAX_LEN>``.
NUM_PLACEHOLDER = re.compile(r"<num_([^_<>]+)_([^_<>]+)(?:_([0-9]+))?>")


def number_placeholder(min_value: Any, max_value: Any, length: int | None = None) -> str:
    """``<num_MIN_MAX>`` for a number, ``<num_MIN_MAX_LEN>`` for a list of ``length`` numbers (:data:`NUM_PLACEHOLDER`
    reads it back)."""
    return f"<num_{min_value}_{max_value}>" if length is None else f"<num_{min_value}_{max_value}_{length}>"


# --- state machines and multi-classifiers: the generated token their answer line holds ---------------------------
#: Name of the token a state machine answers on (value ``State_``).
STATE_TOKEN_NAME = "State"
#: Name of the token a multi-classifier answers on (value ``States_``).
STATES_TOKEN_NAME = "States"

# The description of that token lists the declared answers, in the reference's words (FORMAT.md 5.1, 5.2): the
# text is written from the states / state map the instruction keeps, and read back only from a file.
_STATES_HEAD = "The responses that are acceptable: "
_MAP_HEAD = ("Acceptable responses must contain exactly 1 key and 1 value for every key in this map, in any "
             "combination: ")
_TAIL = "."


def states_description(states: Sequence[str]) -> str:
    """The ``State_`` token's description: the declared states as a Python list literal."""
    return f"{_STATES_HEAD}{list(states)!r}{_TAIL}"


def states_from_description(desc: str | None) -> list[str] | None:
    """The states a ``State_`` description of :func:`states_description`'s form lists; None for any other text."""
    found = _literal(desc, _STATES_HEAD, "[")
    if isinstance(found, list) and found and all(isinstance(s, str) for s in found):
        return found
    return None


def state_map_description(state_map: Mapping[str, Sequence[str]]) -> str:
    """The ``States_`` token's description: the state map as a Python dict literal of lists."""
    shown = {label: list(values) for label, values in state_map.items()}
    return f"{_MAP_HEAD}{shown!r}{_TAIL}"


def state_map_from_description(desc: str | None) -> dict[str, list[str]] | None:
    """The state map a ``States_`` description of :func:`state_map_description`'s form lists; None for any other
    text."""
    found = _literal(desc, _MAP_HEAD, "{")
    if isinstance(found, dict) and found and all(
            isinstance(k, str) and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
            for k, v in found.items()):
        return found
    return None


def _literal(desc: str | None, head: str, opening: str) -> Any:
    """The Python literal between ``head`` and the closing ``.`` of ``desc``, or None."""
    if not isinstance(desc, str) or not desc.startswith(head) or not desc.endswith(_TAIL):
        return None
    body = desc[len(head): -len(_TAIL)]
    if not body.startswith(opening):
        return None
    try:
        return ast.literal_eval(body)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


# --- layouts ------------------------------------------------------------------------------------------------------
#: The model-file layout written by default (generative protocols; rules' format versions hold the table).
DEFAULT_LAYOUT = "0.3.2"

# --- limits (the 0.3.2 layout's rules; the rules' format versions give each layout its own) ---------------------------
#: Context lines a protocol needs in total.
MIN_CONTEXT_LINES = 10
#: Samples an instruction needs.
MIN_SAMPLES = 3
#: Samples a state machine needs.
MIN_STATE_MACHINE_SAMPLES = 10
#: Longest string (snippet, context line) of the 0.3.2 layout.
MAX_STRING_LENGTH = 300
#: Most context lines of one instruction in the 0.3.2 layout.
MAX_INSTRUCTION_CONTEXT = 10
#: Bad-prompt samples a guardrail needs.
MIN_GUARDRAIL_SAMPLES = 3
