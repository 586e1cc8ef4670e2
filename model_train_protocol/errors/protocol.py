"""The reference's import path ``model_train_protocol.errors.protocol`` (compat layer)."""

from . import ProtocolError, StateMachineError

__all__ = ["ProtocolError", "StateMachineError"]
