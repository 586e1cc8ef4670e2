"""The reference's import path ``model_train_protocol.common.tokens``."""

from ...authoring import NumListToken, NumToken, Snippet, SpecialToken, Token, TokenSet
from ...reference_api.tokens import FinalNumToken, FinalToken

__all__ = ["Token", "FinalToken", "FinalNumToken", "NumToken", "NumListToken", "SpecialToken", "TokenSet", "Snippet"]

from ...compat.modules import keep_class_attributes

keep_class_attributes(__name__)
