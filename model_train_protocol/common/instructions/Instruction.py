"""The reference's import path ``model_train_protocol.common.instructions.Instruction``."""

from ...compat.instructions import Instruction

__all__ = ["Instruction"]
