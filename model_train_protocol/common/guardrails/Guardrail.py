"""The reference's import path ``model_train_protocol.common.guardrails.Guardrail``."""

from ...authoring import Guardrail

__all__ = ["Guardrail"]
