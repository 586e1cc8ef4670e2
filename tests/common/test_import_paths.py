"""The reference's import paths (model_train_protocol.common..., .v1, .v2, .errors) give this library's classes."""

from __future__ import annotations

import importlib

import pytest

import model_train_protocol as mtp
from model_train_protocol import errors

#: module path -> names it must offer, as reference 0.3.2-1.2.8 offer them.
PATHS = {
    "model_train_protocol.common.tokens": ["Token", "FinalToken", "FinalNumToken", "NumToken", "NumListToken",
                                           "SpecialToken", "TokenSet", "Snippet"],
    "model_train_protocol.common.tokens.Token": ["Token"],
    "model_train_protocol.common.tokens.FinalToken": ["FinalToken"],
    "model_train_protocol.common.tokens.FinalNumToken": ["FinalNumToken"],
    "model_train_protocol.common.tokens.NumToken": ["NumToken"],
    "model_train_protocol.common.tokens.NumListToken": ["NumListToken"],
    "model_train_protocol.common.tokens.SpecialToken": ["SpecialToken"],
    "model_train_protocol.common.tokens.TokenSet": ["TokenSet", "Snippet"],
    "model_train_protocol.common.guardrails": ["Guardrail"],
    "model_train_protocol.common.guardrails.Guardrail": ["Guardrail"],
    "model_train_protocol.common.instructions": ["Instruction", "ExtendedInstruction", "InstructionOutput",
                                                 "ExtendedResponse"],
    "model_train_protocol.common.instructions.Instruction": ["Instruction"],
    "model_train_protocol.common.instructions.ExtendedInstruction": ["ExtendedInstruction"],
    "model_train_protocol.common.instructions.StateMachineInstruction": ["StateMachineInstruction"],
    "model_train_protocol.common.instructions.MultiClassifierInstruction": ["MultiClassifierInstruction"],
    "model_train_protocol.common.instructions.input.InstructionInput": ["InstructionInput"],
    "model_train_protocol.common.instructions.input.StateMachineInput": ["StateMachineInput"],
    "model_train_protocol.common.instructions.output": ["InstructionOutput", "ExtendedResponse"],
    "model_train_protocol.common.instructions.output.InstructionOutput": ["InstructionOutput"],
    "model_train_protocol.common.instructions.output.ExtendedResponse": ["ExtendedResponse"],
    "model_train_protocol.common.instructions.output.StateMachineOutput": ["StateMachineOutput"],
    "model_train_protocol.common.instructions.output.MultiClassifierOutput": ["MultiClassifierOutput"],
    "model_train_protocol.errors": ["MTPError", "MTPValueError", "MTPTypeError", "MTPKeyError", "ConversionError",
                                    "InstructionInputError", "GuardrailIndexError", "DuplicateGuardrailError",
                                    "ProtocolFileError", "ProtocolFileLayerDepthError", "TemplateFileError",
                                    "GuardrailError", "GuardrailTypeError", "TokenError", "TokenTypeError",
                                    "TokenSetError", "TokenSetTypeError", "InstructionError", "InstructionTypeError",
                                    "OutputError", "OutputTypeError", "ProtocolError", "ProtocolTypeError",
                                    "ProviderError", "StateMachineError", "MultiClassifierError"],
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_reference_import_path_offers_the_library_classes(path: str) -> None:
    module = importlib.import_module(path)
    for name in PATHS[path]:
        assert getattr(module, name) is getattr(mtp, name), name


@pytest.mark.parametrize("name", PATHS["model_train_protocol.errors"])
def test_every_reference_exception_is_an_mtp_error(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, mtp.MTPError)
    if name.endswith("TypeError"):
        assert issubclass(cls, TypeError) and issubclass(cls, mtp.MTPTypeError)


def test_reference_exception_tree() -> None:
    """FORMAT.md 1.8, plus: guardrail index errors are guardrail errors too; our file errors are ProtocolFileErrors."""
    assert issubclass(mtp.GuardrailIndexError, mtp.InstructionInputError)
    assert issubclass(mtp.DuplicateGuardrailError, mtp.InstructionInputError)
    assert issubclass(mtp.GuardrailIndexError, mtp.GuardrailError)
    assert issubclass(mtp.OutputTypeError, mtp.OutputError)
    assert issubclass(mtp.ProtocolFileLayerDepthError, mtp.ProtocolFileError)
    assert issubclass(mtp.MTPFileError, mtp.ProtocolFileError)
    assert issubclass(mtp.MTPKeyError, KeyError)
    for cls in (mtp.InstructionInputError, mtp.OutputError, mtp.ProtocolFileError, mtp.TemplateFileError):
        assert issubclass(cls, ValueError)


def test_reference_only_exceptions_and_arguments_live_in_the_compat_layer() -> None:
    """The core defines only the exceptions it raises (and their bases); the reference's others are the compat
    layer's, still importable from ``model_train_protocol.errors``. The core Protocol has no ``state_machine=``."""
    import ast
    import inspect
    from pathlib import Path

    from model_train_protocol.authoring import _protocol as protocol
    from model_train_protocol.compat.errors import REFERENCE_ERRORS

    source = Path(errors.__file__).read_text(encoding="utf-8")
    defined = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)}
    assert not defined & {cls.__name__ for cls in REFERENCE_ERRORS}
    for cls in REFERENCE_ERRORS:
        assert cls.__module__ == "model_train_protocol.compat.errors" and getattr(errors, cls.__name__) is cls
    assert list(inspect.signature(protocol.Protocol.__init__).parameters) == ["self", "name", "inputs", "encrypt",
                                                                              "version"]
    assert mtp.Protocol("p", inputs=1, state_machine=True).state_machine  # the facade's argument
    guardrail = mtp.Guardrail("g", "b", "o")
    for text in ("x", "y", "z"):
        guardrail.add_sample(text)
    instruction = mtp.Instruction(context=[mtp.TokenSet(mtp.Token("A"))], response=mtp.TokenSet(mtp.Token("B")),
                                  final=mtp.Token("C"), name="i")
    try:
        instruction.add_guardrail(guardrail, 5)
    except mtp.InstructionInputError as exc:  # a real base class: an except clause catches the core's error
        assert isinstance(exc, mtp.GuardrailIndexError)
    else:
        raise AssertionError("add_guardrail at index 5 of a one-line instruction raised nothing")
