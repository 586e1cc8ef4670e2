"""The reference's import path ``model_train_protocol.common.instructions.MultiClassifierInstruction``."""

from ...compat.instructions import MultiClassifierInstruction

__all__ = ["MultiClassifierInstruction"]
