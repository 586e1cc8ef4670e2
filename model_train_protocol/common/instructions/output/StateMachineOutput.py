"""The reference's import path ``model_train_protocol.common.instructions.output.StateMachineOutput``."""

from ....reference_api.io import StateMachineOutput

__all__ = ["StateMachineOutput"]
