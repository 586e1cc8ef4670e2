"""The reference 1.2.8 import path ``model_train_protocol.v1``: ``ProtocolV1``, the bloom 1.2.x protocol class."""

from __future__ import annotations

from typing import Any, Iterable

from ..authoring import SPECIAL_TOKENS, BaseInstruction, Token, Version
from ..compat.protocol import Protocol

__all__ = ["ProtocolV1", "ProtocolFileV1"]


class ProtocolV1(Protocol):
    """A :class:`~model_train_protocol.Protocol` whose files are bloom 1.2.0 / template 1.2.0 by default, as
    reference 1.2.8's ``ProtocolV1`` writes them (with set names, FORMAT.md 2.7)."""

    LAYOUT = "1.2.0"

    def __init__(self, name: str, inputs: int, encrypt: bool = True, state_machine: bool = False,
                 version: Version = None) -> None:
        super().__init__(name, inputs, encrypt, state_machine=state_machine,
                         version=self.LAYOUT if version is None else version)

    @classmethod
    def from_json(cls, document: dict[str, Any], *, source: str | None = None) -> Protocol:
        """The protocol of a parsed model file, saved again as bloom 1.2.0 unless told otherwise."""
        protocol = super().from_json(document, source=source)
        protocol.version = cls.LAYOUT
        return protocol

    @property
    def bloom_version(self) -> str:
        """The bloom layout this protocol writes when given none."""
        return str(self.version)

    @property
    def special_tokens(self) -> list[Token]:
        """The special tokens of its files, in file order."""
        return list(SPECIAL_TOKENS.values())

    def get_protocol_file(self, valid: bool = True) -> "ProtocolFileV1":
        """The model file of this protocol, as the reference's ``ProtocolFileV1`` (``.to_json()`` gives it)."""
        return ProtocolFileV1(self.name, self.context, self.inputs, self.encrypt, self.instructions, valid=valid)

    def _prep_protocol(self) -> None:
        """The reference's step before writing (special tokens, keys), which its own tests call by this private
        name. Nothing to do here: keys and special tokens are computed when a file is written."""


class ProtocolFileV1:
    """The reference's bloom 1.2 model file of a protocol's parts: ``ProtocolFileV1(name=..., ...).to_json()``.

    ``tokens``, ``special_tokens`` and ``bloom_version`` are accepted as the reference's callers give them;
    the file is computed from the instructions (which hold the tokens), as :meth:`Protocol.to_json` does.
    """

    def __init__(self, name: str, context: Iterable[str], inputs: int, encrypted: bool,
                 instructions: Iterable[BaseInstruction], valid: bool = True, state_machine: bool = False,
                 tokens: Any = None, special_tokens: Any = None, bloom_version: Any = None) -> None:
        protocol = ProtocolV1(name, inputs, encrypted)
        protocol.context = list(context)
        protocol.instructions = list(instructions)
        self.protocol = protocol

    def to_json(self) -> dict[str, Any]:
        """The bloom 1.2.0 model file as a dict (validated first)."""
        return self.protocol.to_json()
