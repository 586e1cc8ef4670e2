"""Strict JSON loading: what ``json`` accepts but no MTP file may hold is refused with one clear MTPFileError.

NaN/Infinity, numbers that overflow a float, duplicate keys, NUL characters,
lone surrogates, text that is not UTF-8, and files too big to parse in the
memory there is (:mod:`._limits`). Every reader of MTP JSON (model files,
templates, manifests, checkpoints) loads through here.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, NoReturn

from ..errors import MTPFileError, json_pointer
from ..text import text_problem
from ._limits import check_parse_memory, read_limited

__all__ = ["read_json_file", "parse_json", "parse_text", "decode"]


def read_json_file(path: "str | os.PathLike[str]") -> Any:
    """The parsed JSON of ``path``; unreadable files and invalid JSON raise MTPFileError.

    Special files (FIFOs, devices) and files over the size cap are refused
    before reading (:mod:`._limits`).
    """
    source = str(path)
    data = read_limited(path)
    check_parse_memory(len(data), source)
    text = decode(data, source)
    del data  # not alive during parsing: 800 MB less at a million samples (docs/benchmarks.md)
    return parse_text(text, source)


def parse_json(data: bytes, source: str | None = None) -> Any:
    """The parsed JSON of a file's bytes (UTF-8, optional BOM); MTPFileError for anything else."""
    return parse_text(decode(data, source), source)


def decode(data: bytes, source: str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MTPFileError(f"not a UTF-8 text file (byte {exc.start}); MTP files are UTF-8 JSON", path=source) from None


#: Escapes that can make a string no file should hold: NUL, and the surrogate halves (paired or not).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
#: An exponent of three digits or more: the only way to write a number that overflows a float.
_BIG_EXPONENT = re.compile(r"[0-9.][eE][+-]?0*[0-9]{3}")


def parse_text(text: str, source: str | None) -> Any:
    """Parse, refusing what JSON allows but no MTP file may hold: NaN/Infinity, numbers that overflow,
    duplicate keys, NUL characters and lone surrogates.

    The number and string checks only run when a quick scan of the text finds
    a candidate, so ordinary files parse at full speed.
    """
    options: dict[str, Any] = {"parse_constant": _reject_constant, "object_pairs_hook": _unique_keys}
    if _BIG_EXPONENT.search(text):
        options["parse_float"] = _finite_float
    try:
        document = json.loads(text, **options)
    except json.JSONDecodeError as exc:
        what = "truncated JSON" if exc.pos >= len(text.rstrip()) else "not valid JSON"
        raise MTPFileError(f"{what}: {exc.msg} at line {exc.lineno} column {exc.colno}", path=source) from None
    except ValueError as exc:
        raise MTPFileError(f"not valid JSON: {exc}", path=source) from None
    except RecursionError:
        raise MTPFileError("not a usable JSON document: nested too deeply", path=source) from None
    if "\0" in text or _SUSPECT_ESCAPE.search(text):
        _check_strings(document, source)
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's dict; a key given twice would silently lose a value, so it is refused."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"the key {duplicate!r} appears twice in one object; keep one of them")
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large for a 64-bit float")
    return value


def _check_strings(document: Any, source: str | None) -> None:
    """Refuse NUL characters and lone surrogates in any key or string, naming the JSON pointer."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                raise MTPFileError(f"the string {value[:40]!r} {problem}", path=source, pointer=where)
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(key)
                if problem is not None:
                    raise MTPFileError(f"the key {key[:40]!r} {problem}", path=source, pointer=where)
                stack.append((item, where + json_pointer((key,))))
        elif isinstance(value, list):
            stack.extend((item, where + json_pointer((i,))) for i, item in enumerate(value))


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")
