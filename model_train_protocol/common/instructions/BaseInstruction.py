"""The reference's import path ``model_train_protocol.common.instructions.BaseInstruction``."""

from ...authoring import BaseInstruction

__all__ = ["BaseInstruction"]
