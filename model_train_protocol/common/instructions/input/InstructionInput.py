"""The reference's import path ``model_train_protocol.common.instructions.input.InstructionInput``."""

from ....reference_api.io import InstructionInput

__all__ = ["InstructionInput"]
