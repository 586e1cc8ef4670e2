"""The reference's import path ``model_train_protocol.common.tokens.SpecialToken``."""

from ...authoring import SpecialToken

__all__ = ["SpecialToken"]
