"""The reference's exception classes that nothing in the core raises (FORMAT.md 1.8), for its scripts.

``except OutputError:`` and ``from model_train_protocol.errors import OutputError`` keep working: the classes
live here, in the compatibility layer, and are also put on the ``model_train_protocol.errors`` package, which
the core never fills with them. The reference's names that the core raises (``InstructionInputError``, the
base of ``GuardrailIndexError``; ``ProtocolFileError``, the base of ``MTPFileError``; ``StateMachineError``,
``ConversionError``) stay in the core: an ``except`` clause only catches real subclasses.
"""

from __future__ import annotations

import model_train_protocol.errors as _errors
from ..errors import InstructionError, InstructionInputError, MTPError, MTPTypeError, MTPValueError, ProtocolFileError

__all__ = ["MTPKeyError", "ProtocolFileLayerDepthError", "TemplateFileError", "InstructionInputTypeError",
           "OutputError", "OutputTypeError", "ProviderError", "MultiClassifierError", "REFERENCE_ERRORS"]


class MTPKeyError(MTPError, KeyError):
    """A lookup by name failed (declared by the reference, raised by nothing)."""


class ProtocolFileLayerDepthError(ProtocolFileError):
    """A model file nests deeper than its layout allows (the reference's name, kept for its scripts)."""


class TemplateFileError(MTPValueError):
    """A template file cannot be read or written (the reference's name, kept for its scripts)."""


class InstructionInputTypeError(InstructionInputError, MTPTypeError):
    """An ``InstructionInput``'s lines are not TokenSets."""


class OutputError(MTPValueError):
    """An instruction's output is wrong (reference API: ``InstructionOutput``, ``ExtendedResponse``)."""


class OutputTypeError(OutputError, MTPTypeError):
    """An instruction output argument has the wrong type."""


class ProviderError(MTPValueError):
    """The reference's prototyping provider failed (declared for its scripts; nothing here calls a provider)."""


class MultiClassifierError(InstructionError):
    """A multi-classifier instruction or sample is invalid (the reference's name; the core raises
    ``InstructionError``, its base)."""


#: The classes above, which ``model_train_protocol.errors`` also holds once this layer is imported.
REFERENCE_ERRORS = (MTPKeyError, ProtocolFileLayerDepthError, TemplateFileError, InstructionInputTypeError,
                    OutputError, OutputTypeError, ProviderError, MultiClassifierError)

for _class in REFERENCE_ERRORS:
    setattr(_errors, _class.__name__, _class)
