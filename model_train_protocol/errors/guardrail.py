"""The reference's import path ``model_train_protocol.errors.guardrail`` (compat layer)."""

from . import DuplicateGuardrailError, GuardrailError, GuardrailIndexError, GuardrailTypeError

__all__ = ["GuardrailError", "GuardrailTypeError", "GuardrailIndexError", "DuplicateGuardrailError"]
