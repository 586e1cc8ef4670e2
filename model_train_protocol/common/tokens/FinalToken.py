"""The reference's import path ``model_train_protocol.common.tokens.FinalToken``."""

from ...reference_api.tokens import FinalToken

__all__ = ["FinalToken"]
