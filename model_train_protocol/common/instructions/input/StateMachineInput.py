"""The reference's import path ``model_train_protocol.common.instructions.input.StateMachineInput``."""

from ....reference_api.io import StateMachineInput

__all__ = ["StateMachineInput"]
