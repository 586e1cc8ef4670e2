"""The reference's import path ``model_train_protocol.common.tokens.SpecialToken``."""

from ...tokens import SpecialToken

__all__ = ["SpecialToken"]
