"""The reference's instruction inputs and outputs, and the reading of its instruction calls.

Reference 0.3.2 builds ``Instruction(input=InstructionInput([sets...]),
output=InstructionOutput(tokenset, final), context=[lines], name=None)``;
0.8-1.2.8 put a required ``name`` first: ``Instruction(name, input, output,
context=None)``. ``ExtendedInstruction(input, output=ExtendedResponse(final),
context=None, name="extended_instruction")`` is the same in all of them. Here
``context`` means background *strings*, where the seed API's ``context`` is the
list of input TokenSets. :func:`instruction_call` and :func:`extended_call`
turn such a call into the seed API's arguments, so the instruction classes
keep one constructor body; they return None for a seed-API call.

An unnamed reference ``Instruction`` gets a name made of its lines
(``Cat_Talk_,Alice_Talk_Mood_->Cat_Talk_:Done_``), the same in every run, never
the reference's memory-address names (FORMAT.md 6, defect 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..compat.errors import InstructionInputTypeError, OutputError, OutputTypeError
from ..errors import InstructionInputError, InstructionTypeError
from ..authoring import NON, NumListToken, NumToken, Token, TokenSet
from .tokens import FinalToken

__all__ = [
    "InstructionInput",
    "StateMachineInput",
    "InstructionOutput",
    "ExtendedResponse",
    "StateMachineOutput",
    "MultiClassifierOutput",
    "SeedCall",
    "instruction_call",
    "extended_call",
]

#: What a reference ``Instruction``/``ExtendedInstruction`` call may name.
_PARAMETERS = ("name", "input", "output", "context")


class InstructionInput:
    """The input lines of a reference instruction: ``InstructionInput(tokensets=[cat_talk, alice_talk])``.

    ``tokensets`` keeps their order; an ``ExtendedInstruction``'s last one is the
    user's prompt line. A ``FinalToken`` never labels an input line.
    """

    def __init__(self, tokensets: Sequence[TokenSet]) -> None:
        owner = type(self).__name__
        if isinstance(tokensets, TokenSet) or isinstance(tokensets, (str, bytes)) or not isinstance(tokensets, Iterable):
            raise InstructionInputError(
                f"{owner} needs a list of TokenSets, got {type(tokensets).__name__}; write "
                f"{owner}(tokensets=[cat_talk, alice_talk])."
            )
        sets = list(tokensets)
        if not sets:
            raise InstructionInputError(f"{owner} needs at least one TokenSet.")
        for i, ts in enumerate(sets):
            if not isinstance(ts, TokenSet):
                raise InstructionInputTypeError(
                    f"{owner} item {i} is {type(ts).__name__}, not a TokenSet: All items in context must be "
                    "instances of TokenSet; create it with mtp.TokenSet(tokens=(...)).")
            finals = [t for t in ts.tokens if isinstance(t, FinalToken)]
            if finals:
                raise InstructionInputError(
                    f"{owner} item {i} {ts!r} holds the FinalToken {finals[0].name!r}; a final only closes the "
                    "model's answer. Use an mtp.Token in input lines."
                )
        self.tokensets: list[TokenSet] = sets

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tokensets!r})"


class StateMachineInput(InstructionInput):
    """The input lines of a reference ``StateMachineInstruction`` (same rules as :class:`InstructionInput`)."""


class _Output:
    """What every reference output has: the answer's TokenSet (or None) and the allowed finals."""

    tokenset: TokenSet | None
    final: list[Token]


def _final_list(final: Any, owner: str) -> list[Token]:
    """One token or a list of them; None stands for ``<NON>`` (the reference's declared but unreachable default)."""
    if final is None:
        return [NON]
    items = [final] if isinstance(final, Token) else final
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise OutputTypeError(f"{owner}: final must be a FinalToken or a list of FinalTokens, got "
                              f"{type(final).__name__} {final!r}.")
    items = list(items)
    if not items:
        raise OutputError(f"{owner}: final needs at least one FinalToken, e.g. final=mtp.FinalToken('Done').")
    for t in items:
        if not isinstance(t, Token):
            raise OutputTypeError(f"{owner}: final {t!r} is not a token; create it with mtp.FinalToken(...).")
    return items


class InstructionOutput(_Output):
    """The answer of a reference ``Instruction``: a line of ``tokenset`` closed by one of ``final``."""

    def __init__(self, tokenset: TokenSet, final: Token | Sequence[Token] | None = None) -> None:
        if not isinstance(tokenset, TokenSet):
            raise OutputTypeError(f"InstructionOutput needs a TokenSet, got {type(tokenset).__name__}; write "
                                  "InstructionOutput(tokenset=cat_talk, final=done).")
        numeric = [t for t in tokenset.tokens if isinstance(t, (NumToken, NumListToken))]
        if numeric:
            raise OutputError(
                f"InstructionOutput: {tokenset!r} holds the number token {numeric[0].name!r}; an answer line carries "
                "no numbers. To answer with a number, make the final an mtp.FinalNumToken."
            )
        self.tokenset = tokenset
        self.final = _final_list(final, "InstructionOutput")

    def __repr__(self) -> str:
        return f"InstructionOutput({self.tokenset!r}, final={self.final!r})"


class ExtendedResponse(_Output):
    """The answer of a reference ``ExtendedInstruction``: free text closed by one of ``final``."""

    def __init__(self, final: Token | Sequence[Token] | None = None) -> None:
        self.tokenset = None
        self.final = _final_list(final, "ExtendedResponse")

    def __repr__(self) -> str:
        return f"ExtendedResponse(final={self.final!r})"


class StateMachineOutput(_Output):
    """The answer of a state machine: a line of ``tokenset`` (the state) closed by ``<NON>``."""

    def __init__(self, tokenset: TokenSet) -> None:
        if not isinstance(tokenset, TokenSet):
            raise OutputTypeError(f"StateMachineOutput needs a TokenSet, got {type(tokenset).__name__}.")
        self.tokenset = tokenset
        self.final = [NON]


class MultiClassifierOutput(_Output):
    """The answer of a multi-classifier: a line of ``tokenset`` holding one value per key of ``required_keys``."""

    def __init__(self, tokenset: TokenSet, required_keys: Sequence[str]) -> None:
        if not isinstance(tokenset, TokenSet):
            raise OutputTypeError(f"MultiClassifierOutput needs a TokenSet, got {type(tokenset).__name__}.")
        if isinstance(required_keys, (str, bytes)) or not isinstance(required_keys, Iterable):
            raise OutputTypeError("MultiClassifierOutput: required_keys must be a list of label names, got "
                                  f"{type(required_keys).__name__}.")
        keys = list(required_keys)
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise OutputError(f"MultiClassifierOutput: required_keys must be non-empty label names, got {keys!r}.")
        self.tokenset = tokenset
        self.required_keys = keys
        self.final = [NON]


@dataclass(frozen=True)
class SeedCall:
    """A reference instruction call as the seed API's arguments, plus its background lines."""

    context: tuple[TokenSet, ...]
    response: TokenSet | None
    final: tuple[Token, ...]
    name: str
    background: tuple[str, ...]
    #: True for the 0.3.2 form (``Instruction(input, output, context, name)`` positionally, or without a
    #: name, which 0.8+ requires); False for the later API's (``name`` first, or given by keyword).
    old_form: bool = False


def _is_reference(args: tuple, kwargs: dict, outputs: tuple[type, ...]) -> bool:
    return ("input" in kwargs or "output" in kwargs
            or any(isinstance(a, (InstructionInput, *outputs)) for a in (*args, *kwargs.values())))


def _bind(owner: str, order: tuple[str, ...], args: tuple, kwargs: dict, forms: str) -> dict[str, Any]:
    if len(args) > len(order):
        raise InstructionTypeError(f"{owner} takes at most {len(order)} arguments, got {len(args)}; write {forms}.")
    bound = dict(zip(order, args))
    for key, value in kwargs.items():
        if key not in _PARAMETERS:
            raise InstructionTypeError(f"{owner} has no argument {key!r}; write {forms}.")
        if key in bound:
            raise InstructionTypeError(f"{owner} got two values for {key!r}; write {forms}.")
        bound[key] = value
    return bound


def _background(context: Any, owner: str) -> tuple[str, ...]:
    if context is None:
        return ()
    if isinstance(context, (str, bytes)) or not isinstance(context, Iterable):
        raise InstructionTypeError(f"{owner}: context must be a list of background strings, got "
                                   f"{type(context).__name__}; write context=['Alice meets the Cat.'].")
    lines = tuple(context)
    for i, line in enumerate(lines):
        if isinstance(line, TokenSet):
            raise InstructionTypeError(
                f"{owner}: context item {i} is a TokenSet; with input=InstructionInput([...]) context= holds "
                "background strings, and the TokenSets go in InstructionInput(tokensets=[...])."
            )
        if not isinstance(line, str):
            raise InstructionTypeError(f"{owner}: context item {i} must be a string, got {type(line).__name__}.")
    return lines


def _input(value: Any, owner: str) -> tuple[TokenSet, ...]:
    if not isinstance(value, InstructionInput):
        raise InstructionTypeError(f"{owner} needs input=InstructionInput(tokensets=[...]), got "
                                   f"{type(value).__name__}: Context must be a sequence of TokenSet instances.")
    return tuple(value.tokensets)


def _name(value: Any, owner: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InstructionTypeError(f"{owner} name must be a string, got {type(value).__name__} {value!r}.")


def instruction_call(args: tuple, kwargs: dict) -> SeedCall | None:
    """Seed arguments of a reference ``Instruction`` call; None for a seed-API call.

    ``Instruction(name, input, output, context=None)`` (0.8+) when the first
    argument is a string, else ``Instruction(input, output, context=None, name=None)`` (0.3.2).
    """
    if not _is_reference(args, kwargs, (InstructionOutput, ExtendedResponse)):
        return None
    owner = "Instruction"
    forms = ("Instruction(name, input=InstructionInput([...]), output=InstructionOutput(tokenset, final), "
             "context=[...])")
    order = ("name", "input", "output", "context") if args and isinstance(args[0], str) else \
        ("input", "output", "context", "name")
    bound = _bind(owner, order, args, kwargs, forms)
    _name(bound.get("name"), owner)
    sets = _input(bound.get("input"), owner)
    output = bound.get("output")
    if isinstance(output, ExtendedResponse):
        raise InstructionTypeError("Instruction: output=ExtendedResponse(...) answers in free text; build it with "
                                   "mtp.ExtendedInstruction(input=..., output=ExtendedResponse(...), name=...).")
    if not isinstance(output, InstructionOutput):
        raise InstructionTypeError(f"Instruction needs output=InstructionOutput(tokenset, final), got "
                                   f"{type(output).__name__}: Output must be an instance of Output.")
    background = _background(bound.get("context"), owner)
    name = bound.get("name")
    old_form = name is None or order[0] == "input" and bool(args)
    if name is None:
        name = default_name(sets, output)
    return SeedCall(sets, output.tokenset, tuple(output.final), name, background, old_form)


def extended_call(args: tuple, kwargs: dict) -> SeedCall | None:
    """Seed arguments of a reference ``ExtendedInstruction(input, output, context=None,
    name="extended_instruction")`` call; None for a seed-API call."""
    if not _is_reference(args, kwargs, (ExtendedResponse, InstructionOutput)):
        return None
    owner = "ExtendedInstruction"
    forms = "ExtendedInstruction(input=InstructionInput([..., prompt_set]), output=ExtendedResponse(final), name=...)"
    bound = _bind(owner, ("input", "output", "context", "name"), args, kwargs, forms)
    _name(bound.get("name"), owner)
    sets = _input(bound.get("input"), owner)
    output = bound.get("output")
    if not isinstance(output, ExtendedResponse):
        raise InstructionTypeError(f"ExtendedInstruction needs output=ExtendedResponse(final), got "
                                   f"{type(output).__name__}; an InstructionOutput goes to mtp.Instruction.")
    background = _background(bound.get("context"), owner)
    name = bound.get("name")
    return SeedCall(sets, None, tuple(output.final), "extended_instruction" if name is None else name, background)


def default_name(sets: Sequence[TokenSet], output: _Output) -> str:
    """The name of an unnamed reference ``Instruction``: its lines and finals by value, the same in every run."""
    answer = output.tokenset.value_key if output.tokenset is not None else ""
    return f"{','.join(ts.value_key for ts in sets)}->{answer}:{'|'.join(t.value for t in output.final)}"
