"""The reference's import path ``model_train_protocol.common.guardrails``."""

from ...guardrail import Guardrail

__all__ = ["Guardrail"]
