"""The reference's import path ``model_train_protocol.errors.token`` (compat layer)."""

from . import TokenError, TokenSetError, TokenSetTypeError, TokenTypeError

__all__ = ["TokenError", "TokenTypeError", "TokenSetError", "TokenSetTypeError"]
