"""The reference's import path ``model_train_protocol.common.tokens.NumListToken``."""

from ...tokens import NumListToken

__all__ = ["NumListToken"]
