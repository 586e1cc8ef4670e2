"""The reference's import path ``model_train_protocol.errors.instruction`` (compat layer)."""

from . import InstructionError, InstructionTypeError, MultiClassifierError

__all__ = ["InstructionError", "InstructionTypeError", "MultiClassifierError"]
