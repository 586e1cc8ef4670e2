"""The reference's import path ``model_train_protocol.common.instructions.output.MultiClassifierOutput``."""

from ....reference_api.io import MultiClassifierOutput

__all__ = ["MultiClassifierOutput"]
