"""The library's exception hierarchy, and :class:`Problem`, one broken rule of a protocol (the bottom layer).

Its submodules (``errors.protocol``, ``errors.conversion``, ...) are the reference's import paths, part of
the compatibility layer, as are the reference's classes that nothing here raises
(:mod:`model_train_protocol.compat.errors`).

Every error a user can cause is an ``MTPError``; each class also subclasses the
built-in exception that fits (``ValueError`` or ``TypeError``) so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict, _SHORT.maxset = 3, 4, 4, 4, 4
_SHORT.maxstring, _SHORT.maxother = 60, 60


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, in time bounded whatever the value.

    Error messages show values through this: a YAML alias bomb is a list of
    10⁹ shared elements, a 10⁵-digit integer takes seconds to print, and a
    plain ``{value!r}`` of either hangs the error it was meant to explain.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Where a :class:`Problem` is, in the protocol's own terms: ``("instructions", 2, "samples", 4, "input", 1)``,
#: ``("context", 3)``, ``("tokens", "Cat_")``, ``("guardrails", bad_output)`` ... (see :attr:`Problem.pointer`).
ProblemPath = tuple["str | int", ...]


def json_pointer(path: Iterable[object]) -> str:
    """RFC 6901 pointer of a path of keys and indexes (``["tokens", "a/b"]`` -> ``/tokens/a~1b``): the one builder."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``rule`` is a stable id, ``where`` the object, ``hint`` how to fix it.

    ``path`` is the structured place (:data:`ProblemPath`) that ``where`` was
    written from; :attr:`pointer` derives the model file's JSON pointer from it.
    """

    rule: str
    where: str
    message: str
    hint: str
    path: ProblemPath = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message} Fix: {self.hint}"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "where": self.where, "message": self.message, "hint": self.hint}

    @property
    def pointer(self) -> str | None:
        """The JSON pointer of this place in a model file (the reader keeps the file's order of sets, samples
        and context lines, so indexes agree); None where the file has no single place for it."""
        return problem_pointer(self.path)


#: Protocol-level places and their model-file fields.
_TOP_FIELDS = {"name": ("name",), "inputs": ("inputs",), "context": ("context",),
               "instructions": ("instruction", "sets"), "tokens": ("tokens",)}


def problem_pointer(path: ProblemPath) -> str | None:
    """The model-file JSON pointer of a :data:`ProblemPath` (a sample's texts point at the sample)."""
    if not path or path[0] not in _TOP_FIELDS:
        return None  # guardrails, TokenSets and keys have no single place in a model file
    head, rest = _TOP_FIELDS[path[0]], list(path[1:])
    if path[0] == "instructions" and len(rest) > 1:
        if rest[1] == "samples":
            rest = rest[:3]
        elif rest[1] != "context":
            rest = rest[:1]  # a final: the instruction's set
    return json_pointer((*head, *rest))


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


class StateMachineError(ProtocolError):
    """A state-machine protocol breaks its shape (one StateMachineInstruction, no other kind)."""


class MTPValidationError(ProtocolError):
    """A protocol failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence["Problem"]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"Protocol is invalid: {count} problem{'s' if count != 1 else ''} found."]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ProtocolFileError(MTPValueError):
    """A model file cannot be read or written (the reference's name, the base of our :class:`MTPFileError`)."""


class MTPFileError(ProtocolFileError):
    """A file is not a readable MTP file; ``pointer`` is the JSON pointer of the problem, ``hint`` how to fix
    it when the raiser knows better than "correct the value" (what ``mtp validate`` prints)."""

    def __init__(self, message: str, *, path: str | None = None, pointer: str = "", hint: str = "") -> None:
        self.path = path
        self.pointer = pointer
        self.hint = hint
        where = f"{path}: " if path else ""
        at = f" (at {pointer})" if pointer else ""  # no pointer: the whole file, said by the path alone
        super().__init__(f"{where}{message}{at}")
        self.message = message


# --- the reference's names (FORMAT.md 1.8) that the core raises; the others are in compat.errors ---
class InstructionInputError(MTPValueError):
    """An instruction's input lines are wrong (the reference's name, the base of the two below)."""


class GuardrailIndexError(InstructionInputError, GuardrailError):
    """``add_guardrail`` names an input line the instruction does not have."""


class DuplicateGuardrailError(InstructionInputError, GuardrailError):
    """``add_guardrail`` names an input line that already has a guardrail."""


class ConversionError(MTPValueError):
    """A CSV file cannot be converted to a protocol (the reference's name)."""
