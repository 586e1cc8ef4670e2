"""The reference's import path ``model_train_protocol.common.tokens.NumListToken``."""

from ...authoring import NumListToken

__all__ = ["NumListToken"]
