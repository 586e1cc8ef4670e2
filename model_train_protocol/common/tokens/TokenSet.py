"""The reference's import path ``model_train_protocol.common.tokens.TokenSet``."""

from ...tokenset import Snippet, TokenSet

__all__ = ["TokenSet", "Snippet"]
