"""The reference's import path ``model_train_protocol.common.instructions.output.ExtendedResponse``."""

from ....reference_api.io import ExtendedResponse

__all__ = ["ExtendedResponse"]
