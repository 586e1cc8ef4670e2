"""What a text or a name may hold: the checks every layer shares, from TokenSet strings to file names.

A NUL or a lone surrogate cannot be written as UTF-8 (or is refused when
read), and a name that becomes part of a file name must stay inside the
directory the user chose. These rules sit at the bottom, beside the errors,
so validation, the readers and the CLI all apply the same ones.
"""

from __future__ import annotations

from .errors import MTPValueError

__all__ = ["MAX_NAME_BYTES", "text_problem", "check_text", "file_name_problem"]

#: Longest name (UTF-8 bytes) that becomes part of a file name: ``{name}_template.json`` stays under 255 bytes.
MAX_NAME_BYTES = 200


def text_problem(text: str) -> str | None:
    """What makes ``text`` unusable (a NUL or a lone surrogate), or None when it is fine."""
    if "\0" in text:
        return "holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds {text[exc.start:exc.end]!r}, an unpaired surrogate that UTF-8 cannot encode (not valid UTF-8)"
    return None


def check_text(text: str, what: str) -> str:
    """``text`` unchanged, or :class:`MTPValueError` when it holds a NUL or a lone surrogate."""
    problem = text_problem(text)
    if problem is not None:
        raise MTPValueError(f"{what} {problem}; remove it.")
    return text


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be the start of a file name in a chosen directory, or None.

    Names come from files (a model file's ``name``) and become file and folder
    names (``{name}_model.json``, ``{name}_openai-chat/``): a slash, ``..`` or
    an absolute path would write outside the directory the user chose.
    """
    if not name.strip():
        return "is empty"
    if any(ch in name for ch in "/\\\0") or name in (".", ".."):
        return "holds a slash, backslash or NUL, or is '.' or '..' (it would leave the chosen directory)"
    if name != name.strip():
        return "starts or ends with a space"
    problem = text_problem(name)
    if problem is not None:
        return problem
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"is {len(name.encode('utf-8'))} bytes long; file names allow {MAX_NAME_BYTES}"
    return None
