"""The reference's import path ``model_train_protocol.common.instructions.output``."""

from ....reference_api.io import ExtendedResponse, InstructionOutput

__all__ = ["InstructionOutput", "ExtendedResponse"]

from ....compat.modules import keep_class_attributes

keep_class_attributes(__name__)
