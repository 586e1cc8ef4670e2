"""The reference's import path ``model_train_protocol.errors.instruction`` (compat layer)."""

from ..compat.errors import MultiClassifierError
from . import InstructionError, InstructionTypeError

__all__ = ["InstructionError", "InstructionTypeError", "MultiClassifierError"]
