"""The reference's import path ``model_train_protocol.common.instructions.output.InstructionOutput``."""

from ....reference_api.io import InstructionOutput

__all__ = ["InstructionOutput"]
