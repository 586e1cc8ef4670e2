"""The library's exception hierarchy.

Every error a user can cause is an ``MTPError``; each class also subclasses the
built-in exception that fits (``ValueError`` or ``TypeError``) so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .validation import Problem


class MTPError(Exception):
    """Base class of every error raised by model_train_protocol."""


class MTPValueError(MTPError, ValueError):
    """A value is wrong (out of range, malformed, inconsistent)."""


class MTPTypeError(MTPError, TypeError):
    """An argument has the wrong type."""


class TokenError(MTPValueError):
    """A token is invalid (bad characters, bad bounds, bad key)."""


class TokenTypeError(TokenError, MTPTypeError):
    """A token argument has the wrong type."""


class TokenSetError(MTPValueError):
    """A TokenSet or one of its snippets is invalid."""


class TokenSetTypeError(TokenSetError, MTPTypeError):
    """A TokenSet or snippet argument has the wrong type."""


class InstructionError(MTPValueError):
    """An instruction or one of its samples is invalid."""


class InstructionTypeError(InstructionError, MTPTypeError):
    """An instruction argument has the wrong type."""


class GuardrailError(MTPValueError):
    """A guardrail is invalid or placed where it cannot apply."""


class GuardrailTypeError(GuardrailError, MTPTypeError):
    """A guardrail argument has the wrong type."""


class ProtocolError(MTPValueError):
    """A protocol-level rule is broken."""


class ProtocolTypeError(ProtocolError, MTPTypeError):
    """A protocol argument has the wrong type."""


class MTPValidationError(ProtocolError):
    """A protocol failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence["Problem"]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"Protocol is invalid: {count} problem{'s' if count != 1 else ''} found."]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class MTPFileError(MTPValueError):
    """A file is not a readable MTP file; ``pointer`` is the JSON pointer of the problem."""

    def __init__(self, message: str, *, path: str | None = None, pointer: str = "") -> None:
        self.path = path
        self.pointer = pointer
        where = f"{path}: " if path else ""
        at = f" (at {pointer or '/'})" if pointer or path else ""
        super().__init__(f"{where}{message}{at}")
        self.message = message
