"""The reference's import path ``model_train_protocol.common.instructions.StateMachineInstruction``."""

from ...instructions import StateMachineInstruction

__all__ = ["StateMachineInstruction"]
