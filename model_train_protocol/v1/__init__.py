"""The reference 1.2.8 import path ``model_train_protocol.v1``: ``ProtocolV1``, the bloom 1.2.x protocol class."""

from __future__ import annotations

from typing import Any

from ..protocol import Protocol, Version

__all__ = ["ProtocolV1"]


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
