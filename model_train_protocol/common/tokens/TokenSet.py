"""The reference's import path ``model_train_protocol.common.tokens.TokenSet``."""

from ...authoring import Snippet, TokenSet

__all__ = ["TokenSet", "Snippet"]
