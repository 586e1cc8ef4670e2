"""The reference's import path ``model_train_protocol.common.instructions.output``."""

from ....reference_api.io import ExtendedResponse, InstructionOutput

__all__ = ["InstructionOutput", "ExtendedResponse"]
