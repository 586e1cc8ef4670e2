"""The reference's import path ``model_train_protocol.common.tokens.NumToken``."""

from ...tokens import NumToken

__all__ = ["NumToken"]
