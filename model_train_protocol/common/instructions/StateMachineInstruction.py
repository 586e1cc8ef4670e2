"""The reference's import path ``model_train_protocol.common.instructions.StateMachineInstruction``."""

from ...compat.instructions import StateMachineInstruction

__all__ = ["StateMachineInstruction"]
