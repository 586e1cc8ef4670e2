"""The reference's import path ``model_train_protocol.common.tokens.Token``."""

from ...authoring import Token

__all__ = ["Token"]
