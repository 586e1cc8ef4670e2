"""The reference's import path ``model_train_protocol.common.instructions``."""

from ...compat.instructions import ExtendedInstruction, Instruction
from ...authoring import BaseInstruction
from ...reference_api.io import ExtendedResponse, InstructionOutput

__all__ = ["BaseInstruction", "Instruction", "ExtendedInstruction", "InstructionOutput", "ExtendedResponse"]

from ...compat.modules import keep_class_attributes

keep_class_attributes(__name__)
