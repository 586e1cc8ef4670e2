"""The ``Protocol`` of ``import model_train_protocol as mtp``: the core's, plus the reference's arguments.

``Protocol(name, inputs, encrypt, state_machine=False, version=None)`` is reference 0.5-0.8's call
(``state_machine=True``: the protocol takes only a StateMachineInstruction, and saves as bloom 1.2.0 as
0.6-0.8 do); ``Protocol(name, inputs, encrypt, "2.0.1")`` is 1.2.8's, whose fourth argument is the version.

When no version is named, a generative protocol saves as the reference whose API made its instructions
would: bloom 2.0.1 / template 2.1.0 (1.2.8's default) for the later API (``Instruction(name, input=...,
output=...)``, ``ExtendedInstruction(input=..., output=...)``), bloom 0.3.2 for 0.3.2's
``Instruction(input, output, context, name)`` unless 0.3.2 cannot hold it (then 2.0.1 too). Seed-API
protocols keep 0.3.2, the contract's layout.
"""

from __future__ import annotations

from typing import Any

from ..authoring import BaseInstruction, Protocol as _CoreProtocol, Version
from ..errors import InstructionError, StateMachineError
from ..reference_api.protocol import layout_of
from ..constants import MIN_SAMPLES
from .facade import FacadeType

__all__ = ["Protocol"]

#: What the newest reference (1.2.8) writes by default.
NEWEST_REFERENCE_LAYOUT = "2.0.1"
#: The layout of this library's contract (the seed README's reference).
CONTRACT_LAYOUT = "0.3.2"


class Protocol(_CoreProtocol, metaclass=FacadeType):
    """:class:`model_train_protocol.authoring.Protocol`, also built with the reference's arguments."""

    _core_class = _CoreProtocol

    def __init__(self, name: str, inputs: int, encrypt: bool = True, state_machine: Any = False,
                 version: Version = None) -> None:
        super().__init__(name, inputs, encrypt, layout_of(version, state_machine))
        #: Reference 0.5-0.8's ``state_machine=True``: only a StateMachineInstruction may be added.
        self._state_machine = state_machine is True

    @property
    def state_machine(self) -> bool:
        return self.__dict__.get("_state_machine", False) or super().state_machine

    def add_instruction(self, instruction: BaseInstruction) -> None:
        if self.__dict__.get("_state_machine") and getattr(instruction, "model_type", None) != "state_machine":
            raise StateMachineError(
                f"Protocol {self.name!r} was created with state_machine=True, so its instruction must be of type "
                f"StateMachineInstruction, not {type(instruction).__name__} {getattr(instruction, 'name', '?')!r}; "
                "drop state_machine=True for other instructions.")
        if getattr(instruction, "reference_release", None) and instruction.model_type == "generative":
            # The reference (0.6+) checks the sample minimum here, so its scripts add samples first.
            have = len(instruction.samples)
            if have < MIN_SAMPLES:
                raise InstructionError(
                    f"{type(instruction).__name__} {instruction.name!r} has {have} sample(s). Instruction must have "
                    f"at least three samples when it is added to a protocol; call add_sample() {MIN_SAMPLES - have} "
                    "more time(s) first.")
            for final in instruction.finals:
                count = sum(1 for sample in instruction.samples if sample.final is final)
                if count < MIN_SAMPLES:
                    raise InstructionError(
                        f"{type(instruction).__name__} {instruction.name!r}: Missing minimum {MIN_SAMPLES} samples "
                        f"for each FinalToken: final {final.name!r} has {count}; add samples ending with it before "
                        "the instruction is added to a protocol.")
        super().add_instruction(instruction)

    def layout(self, version: Version = None) -> Version:
        """The layout a method given no version writes: the protocol's own, else that of the reference release
        whose API made its instructions (see the module's docstring)."""
        chosen = super().layout(version)
        if chosen is not None or self.model_type != "generative":
            return chosen
        releases = {getattr(i, "reference_release", None) for i in self.instructions} - {None}
        if "1.2.8" in releases or (releases and _CoreProtocol.validate(self, CONTRACT_LAYOUT)):
            return NEWEST_REFERENCE_LAYOUT
        return chosen
