"""The reference's import path ``model_train_protocol.common.guardrails``."""

from ...authoring import Guardrail

__all__ = ["Guardrail"]

from ...compat.modules import keep_class_attributes

keep_class_attributes(__name__)
