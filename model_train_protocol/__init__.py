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
    ProtocolError,
    ProtocolTypeError,
    TokenError,
    TokenSetError,
    TokenSetTypeError,
    TokenTypeError,
)
from .guardrail import Guardrail
from .instructions import ExtendedInstruction, Instruction, Sample
from .protocol import Protocol
from .render import RenderedExample, render_protocol
from .tokens import BOS, EOS, NON, PAD, RUN, UNK, NumListToken, NumToken, SpecialToken, Token, UserToken
from .tokenset import Snippet, TokenSet
from .validation import Problem

__version__ = "0.1.0"

__all__ = [
    "BOS",
    "EOS",
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
    "Token",
    "TokenError",
    "TokenSet",
    "TokenSetError",
    "TokenSetTypeError",
    "TokenTypeError",
    "UNK",
    "UserToken",
    "render_protocol",
]
