"""The reference's import path ``model_train_protocol.common.instructions.ExtendedInstruction``."""

from ...compat.instructions import ExtendedInstruction

__all__ = ["ExtendedInstruction"]
