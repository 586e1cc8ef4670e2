"""Model Train Protocol: describe a small language model's training data in Python.

    import model_train_protocol as mtp

    protocol = mtp.Protocol(name="my_model", inputs=2)
    ...
    protocol.save()
    protocol.template()
"""

from .errors import (
    GuardrailError,
    GuardrailTypeError,
    InstructionError,
    InstructionTypeError,
    MTPError,
    MTPFileError,
    MTPTypeError,
    MTPValidationError,
    MTPValueError,
    MultiClassifierError,
    ProtocolError,
    ProtocolTypeError,
    StateMachineError,
    TokenError,
    TokenSetError,
    TokenSetTypeError,
    TokenTypeError,
)
from .guardrail import Guardrail
from .instructions import ExtendedInstruction, Instruction, MultiClassifierInstruction, Sample, StateMachineInstruction
from .protocol import Protocol
from .render import RenderedExample, render_protocol
from .tokens import BOS, EOS, NON, PAD, RUN, UNK, NumListToken, NumToken, SpecialToken, Token, UserToken
from .tokenset import Snippet, TokenSet
from .validation import Problem
from .csv_import import CSVImportError, import_csv
from .export import ExportError, export_protocol
from .export_gguf import export_gguf
from .finetune import added_tokens, chat_template
from .info import protocol_stats

__version__ = "0.1.0"

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
    "EOS",
    "ExportError",
    "ExtendedInstruction",
    "Guardrail",
    "GuardrailError",
    "GuardrailTypeError",
    "Instruction",
    "InstructionError",
    "InstructionTypeError",
    "MTPError",
    "MTPFileError",
    "MTPTypeError",
    "MTPValidationError",
    "MTPValueError",
    "MultiClassifierError",
    "MultiClassifierInstruction",
    "NON",
    "NumListToken",
    "NumToken",
    "PAD",
    "Problem",
    "Protocol",
    "ProtocolError",
    "ProtocolTypeError",
    "RUN",
    "RenderedExample",
    "Sample",
    "Snippet",
    "SpecialToken",
    "StateMachineError",
    "StateMachineInstruction",
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
