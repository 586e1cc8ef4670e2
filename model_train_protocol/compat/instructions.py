"""The instruction classes of ``import model_train_protocol as mtp``: the core's, plus the reference's call styles.

The core classes (:mod:`model_train_protocol.authoring`) take one typed signature each. A script written
for the reference calls them otherwise: ``Instruction(name, input=InstructionInput([...]),
output=InstructionOutput(tokenset, final), context=[background lines])`` (0.8-1.2.8) or with ``name`` last
(0.3.2); ``ExtendedInstruction(input=..., output=ExtendedResponse(final))``;
``StateMachineInstruction(input=StateMachineInput([...]), states=[...])``. The classes here read both the
seed call and those, then build the core object. For an instruction made by a reference call ``context``
is its background lines (as in 0.8+) and ``input``/``output`` give the reference's views of its lines.

Objects the core builds (a loaded file, a CSV import) are core classes; :class:`FacadeType` makes them
instances of these classes too, so ``isinstance(loaded, mtp.Instruction)`` holds.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..authoring import (BaseInstruction, ExtendedInstruction as _CoreExtended, Instruction as _CoreInstruction,
                         MultiClassifierInstruction as _CoreMultiClassifier, Sample, Snippet,
                         StateMachineInstruction as _CoreStateMachine, Token, TokenSet)
from ..errors import InstructionTypeError
from ..reference_api.io import (
    ExtendedResponse,
    InstructionInput,
    InstructionOutput,
    MultiClassifierOutput,
    StateMachineOutput,
    extended_call,
    instruction_call,
)
from .facade import FacadeType

__all__ = ["Instruction", "ExtendedInstruction", "StateMachineInstruction", "MultiClassifierInstruction"]


def _bind(function: Callable[..., Any], args: tuple, kwargs: dict, owner: str, forms: str) -> inspect.BoundArguments:
    """Bind a seed-API call to the core signature; a wrong call is our InstructionTypeError, naming the forms."""
    try:
        return inspect.signature(function).bind(*args, **kwargs)
    except TypeError as exc:
        raise InstructionTypeError(f"{owner}: {exc}; write {forms}.") from None


def _one_value(seed: Any, reference: Any, reference_name: str, owner: str, seed_name: str) -> Any:
    """The argument given under its seed name or its reference name, refusing both at once."""
    if reference is None:
        return seed
    if seed is not None:
        raise InstructionTypeError(f"{owner}: {seed_name}= and {reference_name}= name the same argument; pass one.")
    return reference


class _InputView(InstructionInput):
    """``instruction.input``: the reference's view of an instruction's input lines and their guardrails."""

    def __init__(self, instruction: BaseInstruction) -> None:
        self.tokensets = list(instruction.tokensets)
        self.guardrails = dict(sorted(instruction.input_guardrails.items()))


class _ReferenceViews:
    """``context`` / ``input`` / ``output`` as the reference 0.8+ gives them, for instructions it made."""

    #: The reference release whose API made this instruction: "0.3.2" (its ``Instruction(input, output,
    #: context, name)`` form), "1.2.8" (the later API, whose newest release it follows), or None (the seed
    #: API). It picks the layout a protocol saves in when given none (compat.protocol), and for a reference
    #: call ``context`` is the background lines.
    reference_release: str | None = None

    @property
    def context(self) -> Any:
        """Background lines for an instruction made by a reference call, else the input TokenSets."""
        return list(self.background) if self.reference_release else self.tokensets

    @property
    def input(self) -> InstructionInput:
        return _InputView(self)


class Instruction(_ReferenceViews, _CoreInstruction, metaclass=FacadeType):
    """:class:`model_train_protocol.authoring.Instruction`, also built by the reference's calls."""

    _core_class = _CoreInstruction
    _FORMS = ("Instruction(context=[TokenSet, ...], response=TokenSet, final=Token, name=...) or "
              "Instruction(name, input=InstructionInput([...]), output=InstructionOutput(tokenset, final))")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        call = instruction_call(args, kwargs)
        if call is None:
            bound = _bind(_CoreInstruction.__init__, (self, *args), kwargs, "Instruction", self._FORMS)
            _CoreInstruction.__init__(*bound.args, **bound.kwargs)
            return
        _CoreInstruction.__init__(self, call.context, call.response, call.final, call.name)
        self.reference_release = "0.3.2" if call.old_form else "1.2.8"
        for line in call.background:
            self._append_context(line)

    @property
    def output(self) -> InstructionOutput:
        return InstructionOutput(self.response, list(self.finals))

    def add_sample(self, input_snippets: Sequence[Snippet | str], output_snippet: Snippet | str,
                   value: int | float | None = None, final: Token | None = None, *,
                   output_value: int | float | None = None) -> Sample:
        """The core's ``add_sample``; ``output_value`` is the reference's name for ``value``."""
        value = _one_value(value, output_value, "output_value", f"Instruction {self.name!r}", "value")
        return super().add_sample(input_snippets, output_snippet, value, final)


class ExtendedInstruction(_ReferenceViews, _CoreExtended, metaclass=FacadeType):
    """:class:`model_train_protocol.authoring.ExtendedInstruction`, also built by the reference's calls
    (whose prompt line needs no UserToken)."""

    _core_class = _CoreExtended
    _FORMS = ("ExtendedInstruction(context=[TokenSet, ..., prompt_set], final=Token, name=...) or "
              "ExtendedInstruction(input=InstructionInput([...]), output=ExtendedResponse(final), name=...)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        call = extended_call(args, kwargs)
        if call is None:
            bound = _bind(_CoreExtended.__init__, (self, *args), kwargs, "ExtendedInstruction",
                          self._FORMS)
            _CoreExtended.__init__(*bound.args, **bound.kwargs)
            return
        BaseInstruction.__init__(self, call.context, call.final, call.name)  # no UserToken rule here
        self.reference_release = "1.2.8"  # the same call in every release: the newest one's layout
        for line in call.background:
            self._append_context(line)

    @property
    def output(self) -> ExtendedResponse:
        return ExtendedResponse(list(self.finals))

    def add_sample(self, input_snippets: Sequence[Snippet | str] | None = None, response_string: str | None = None,
                   value: int | float | None = None, final: Token | None = None, *,
                   inputs: Sequence[Snippet | str] | None = None) -> Sample:
        """The core's ``add_sample``; ``inputs`` is the reference's name for ``input_snippets``."""
        owner = f"ExtendedInstruction {self.name!r}"
        input_snippets = _one_value(input_snippets, inputs, "inputs", owner, "input_snippets")
        if input_snippets is None:
            raise InstructionTypeError(f"{owner}: add_sample() missing 1 required positional argument: "
                                       "'input_snippets'; pass one snippet per context TokenSet, the prompt last.")
        if response_string is None:
            raise InstructionTypeError(f"{owner}: add_sample() missing 1 required positional argument: "
                                       "'response_string'; pass the answer text as response_string=...")
        return super().add_sample(input_snippets, response_string, value, final)


def _choice_lines(context: Any, input: Any, owner: str) -> tuple[Any, list[str], bool]:
    """The input TokenSets, background lines and whether it is a reference call, for the seed's
    ``context=[TokenSet...]`` or the reference's ``input=`` (anything with ``.tokensets``)."""
    if input is None and hasattr(context, "tokensets"):
        input, context = context, None
    if input is None:
        if context is None:
            raise InstructionTypeError(f"{owner} needs its input lines: context=[TokenSet, ...].")
        return context, [], False
    if not hasattr(input, "tokensets"):
        raise InstructionTypeError(f"{owner}: input must be an InstructionInput (or StateMachineInput), "
                                   f"got {type(input).__name__}.")
    background: list[str] = []
    if context is not None:
        if isinstance(context, str) or not isinstance(context, Iterable):
            raise InstructionTypeError(f"{owner}: with input=, context is a list of background lines.")
        background = list(context)
    return input.tokensets, background, True


class StateMachineInstruction(_ReferenceViews, _CoreStateMachine, metaclass=FacadeType):
    """:class:`model_train_protocol.authoring.StateMachineInstruction`, also built as the reference does:
    ``StateMachineInstruction(input=StateMachineInput([...]), states=[...], context=[background lines])``."""

    _core_class = _CoreStateMachine

    def __init__(self, context: Sequence[TokenSet] | None = None, states: Sequence[str] | None = None,
                 name: str = "StateMachineInstruction", *, input: Any = None) -> None:
        sets, background, reference = _choice_lines(context, input, "StateMachineInstruction")
        _CoreStateMachine.__init__(self, sets, states, name)  # type: ignore[arg-type]
        self.reference_release = "1.2.8" if reference else None
        for line in background:
            self._append_context(line)

    def get_states(self) -> list[str]:
        """For a reference call, the reference's: the states its samples answer, in order, then ``GUARDRAIL``
        when a guardrail can refuse (its ``states`` only describe the answer line); else the declared states."""
        if not self.reference_release:
            return super().get_states()
        states = list(dict.fromkeys(sample.output for sample in self.samples))
        return states + ["GUARDRAIL"] if self.has_guardrails else states

    @property
    def output(self) -> StateMachineOutput:
        """The reference's view of the answer line: the ``State`` TokenSet, closed by ``<NON>`` (a new view each
        time: a state machine's final cannot change)."""
        return StateMachineOutput(self.response)


class MultiClassifierInstruction(_ReferenceViews, _CoreMultiClassifier, metaclass=FacadeType):
    """:class:`model_train_protocol.authoring.MultiClassifierInstruction`, also built as reference 1.2.8
    does: ``MultiClassifierInstruction(input, state_map, context=[background lines])``."""

    _core_class = _CoreMultiClassifier

    def __init__(self, context: Any = None, state_map: Mapping[str, Sequence[str]] | None = None,
                 name: Any = "MultiClassifierInstruction", *, input: Any = None) -> None:
        if input is None and hasattr(context, "tokensets") and not isinstance(name, str):
            # The reference's positional order: (input, state_map, context=background lines).
            input, context, name = context, name, "MultiClassifierInstruction"
        sets, background, reference = _choice_lines(context, input, "MultiClassifierInstruction")
        _CoreMultiClassifier.__init__(self, sets, state_map, name)  # type: ignore[arg-type]
        self.reference_release = "1.2.8" if reference else None
        for line in background:
            self._append_context(line)

    @property
    def output(self) -> MultiClassifierOutput:
        """The reference's view of the answer line: the ``States`` TokenSet with one value per label, closed by
        ``<NON>`` (a new view each time)."""
        return MultiClassifierOutput(self.response, list(self.state_map))
