"""Model Train Protocol: describe a small language model's training data in Python.

    import model_train_protocol as mtp

    protocol = mtp.Protocol(name="my_model", inputs=2)
    ...
    protocol.save()
    protocol.template()
"""

from .errors import (
    ConversionError,
    DuplicateGuardrailError,
    GuardrailError,
    GuardrailIndexError,
    GuardrailTypeError,
    InstructionError,
    InstructionInputError,
    InstructionTypeError,
    MTPError,
    MTPFileError,
    MTPTypeError,
    MTPValidationError,
    MTPValueError,
    ProtocolError,
    ProtocolFileError,
    ProtocolTypeError,
    StateMachineError,
    TokenError,
    TokenSetError,
    TokenSetTypeError,
    TokenTypeError,
)
from .authoring import (BOS, EOS, NON, PAD, RUN, UNK, Guardrail, NumListToken, NumToken, Sample, Snippet, SpecialToken,
                        Token, TokenSet, UserToken)
from .rules import RenderedExample, protocol_stats, render_protocol
from .errors import Problem
from .reference_api.io import (
    ExtendedResponse,
    InstructionInput,
    InstructionOutput,
    MultiClassifierOutput,
    StateMachineInput,
    StateMachineOutput,
)
from .reference_api.tokens import FinalNumToken, FinalToken
# The compatibility layer's classes: the core's, also built by the reference's calls (model_train_protocol.compat),
# and the reference's exception classes that the core never raises.
from .compat.errors import (
    InstructionInputTypeError,
    MTPKeyError,
    MultiClassifierError,
    OutputError,
    OutputTypeError,
    ProtocolFileLayerDepthError,
    ProviderError,
    TemplateFileError,
)
from .compat.instructions import ExtendedInstruction, Instruction, MultiClassifierInstruction, StateMachineInstruction
from .compat.protocol import Protocol
from .formats import CSVImportError, import_csv
from .export import ExportError, added_tokens, chat_template, export_protocol
from .export_gguf import export_gguf

from ._version import __version__  # noqa: F401  (the package version, not a name of the API)

#: Training names, imported on first use so that ``import model_train_protocol`` never loads PyTorch.
_TRAIN_EXPORTS = {
    "TrainConfig": "TrainConfig",
    "TrainResult": "TrainResult",
    "TrainedModel": "TrainedModel",
    "load_trained": "load_trained",
    "train_model": "train",
}


def __getattr__(name: str):  # PEP 562: lazy re-exports of model_train_protocol.train
    if name in _TRAIN_EXPORTS:
        from . import train as _train

        return getattr(_train, _TRAIN_EXPORTS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BOS",
    "CSVImportError",
    "ConversionError",
    "DuplicateGuardrailError",
    "EOS",
    "ExportError",
    "ExtendedInstruction",
    "ExtendedResponse",
    "FinalNumToken",
    "FinalToken",
    "Guardrail",
    "GuardrailError",
    "GuardrailIndexError",
    "GuardrailTypeError",
    "Instruction",
    "InstructionError",
    "InstructionInput",
    "InstructionInputError",
    "InstructionInputTypeError",
    "InstructionOutput",
    "InstructionTypeError",
    "MTPError",
    "MTPFileError",
    "MTPKeyError",
    "MTPTypeError",
    "MTPValidationError",
    "MTPValueError",
    "MultiClassifierError",
    "MultiClassifierInstruction",
    "MultiClassifierOutput",
    "NON",
    "NumListToken",
    "NumToken",
    "OutputError",
    "OutputTypeError",
    "PAD",
    "Problem",
    "Protocol",
    "ProtocolError",
    "ProtocolFileError",
    "ProtocolFileLayerDepthError",
    "ProtocolTypeError",
    "ProviderError",
    "RUN",
    "RenderedExample",
    "Sample",
    "Snippet",
    "SpecialToken",
    "StateMachineError",
    "StateMachineInput",
    "StateMachineInstruction",
    "StateMachineOutput",
    "TemplateFileError",
    "Token",
    "TokenError",
    "TokenSet",
    "TokenSetError",
    "TokenSetTypeError",
    "TokenTypeError",
    "UNK",
    "UserToken",
    "added_tokens",
    "chat_template",
    "export_gguf",
    "export_protocol",
    "import_csv",
    "protocol_stats",
    "render_protocol",
]
