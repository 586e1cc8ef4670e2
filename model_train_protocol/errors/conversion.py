"""The reference's import path ``model_train_protocol.errors.conversion`` (compat layer)."""

from . import ConversionError

__all__ = ["ConversionError"]
