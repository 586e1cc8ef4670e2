"""The reference's import path ``model_train_protocol.common.tokens.FinalNumToken``."""

from ...reference_api.tokens import FinalNumToken

__all__ = ["FinalNumToken"]
