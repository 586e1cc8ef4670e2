"""The reference 1.2.8 import path ``model_train_protocol.v2``: ``ProtocolV2``, its ``mtp.Protocol``."""

from __future__ import annotations

from typing import Any

from ..compat.protocol import Protocol
from ..authoring import Version

__all__ = ["ProtocolV2"]


class ProtocolV2(Protocol):
    """A :class:`~model_train_protocol.Protocol` whose files are bloom 2.0.1 / template 2.1.0 by default,
    as reference 1.2.8 writes them."""

    LAYOUT = "2.0.1"

    def __init__(self, name: str, inputs: int, encrypt: bool = True, version: Version = None) -> None:
        super().__init__(name, inputs, encrypt, version=self.LAYOUT if version is None else version)

    @classmethod
    def from_json(cls, document: dict[str, Any], *, source: str | None = None) -> Protocol:
        """The protocol of a parsed model file, saved again as bloom 2.0.1 unless told otherwise."""
        protocol = super().from_json(document, source=source)
        protocol.version = cls.LAYOUT
        return protocol
