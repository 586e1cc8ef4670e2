"""The reference's import path ``model_train_protocol.common.tokens.NumToken``."""

from ...authoring import NumToken

__all__ = ["NumToken"]
