"""The reference's import path ``model_train_protocol.common.instructions.BaseInstruction``."""

from ...instructions import BaseInstruction

__all__ = ["BaseInstruction"]
