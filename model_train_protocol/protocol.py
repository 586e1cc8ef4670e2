"""The Protocol: everything a model is trained on, validated and saved as two files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InstructionError, MTPValidationError, ProtocolError, ProtocolTypeError
from .formats.jsonio import write_json_atomic
from .formats.limits import file_name_problem
from .formats.model_file import model_document
from .formats.reader import load_protocol, protocol_from_json
from .formats.template_file import template_document
from .formats.versions import FormatVersion, format_version
from .guardrail import Guardrail, guardrail_map
from .instructions import BaseInstruction
from .render import KeyMap
from .validation import Problem, validate_protocol

__all__ = ["Protocol"]


class Protocol:
    """A named collection of context lines and instructions.

    ``inputs`` is the number of input lines of every sample; ``encrypt`` (the
    default) replaces token names by 6-hex hashes in what the model sees.
    """

    def __init__(self, name: str, inputs: int, encrypt: bool = True) -> None:
        self.name = name
        self.inputs = inputs
        self.encrypt = encrypt
        self.context: list[str] = []
        self.instructions: list[BaseInstruction] = []

    def __setattr__(self, attribute: str, value: Any) -> None:
        """Each setting is checked on every change; how it fits the instructions is checked by :meth:`validate`."""
        if attribute == "name":
            if not isinstance(value, str):
                raise ProtocolTypeError(f"Protocol name must be a string, got {type(value).__name__} {value!r}.")
            if not value.strip():
                raise ProtocolError("Protocol name cannot be empty; it names the saved files ({name}_model.json).")
        elif attribute == "inputs":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ProtocolTypeError(f"Protocol inputs must be an int, got {type(value).__name__} {value!r}.")
            if value < 1:
                raise ProtocolError(f"Protocol inputs must be at least 1 (2 for the MTP 0.3 format), got {value}.")
        elif attribute == "encrypt" and not isinstance(value, bool):
            raise ProtocolTypeError(f"Protocol encrypt must be True or False, got {value!r}.")
        object.__setattr__(self, attribute, value)

    # --- building ----------------------------------------------------------
    def add_context(self, line: str) -> None:
        """Add a background line about the model's world (ten lines are needed in total)."""
        if not isinstance(line, str):
            raise ProtocolTypeError(f"Context lines must be strings, got {type(line).__name__} {line!r}.")
        self.context.append(line)

    def add_instruction(self, instruction: BaseInstruction) -> None:
        """Add an instruction; its input lines must match the protocol's ``inputs``.

        Samples may still be added to the instruction afterwards; they are
        checked by :meth:`validate`.
        """
        if not isinstance(instruction, BaseInstruction):
            raise ProtocolTypeError(
                f"add_instruction needs an mtp.Instruction or mtp.ExtendedInstruction, got {type(instruction).__name__}."
            )
        if any(i is instruction for i in self.instructions):
            raise InstructionError(f"Instruction {instruction.name!r} is already in this protocol.")
        if any(i.name == instruction.name for i in self.instructions):
            raise InstructionError(
                f"An instruction named {instruction.name!r} already exists in protocol {self.name!r}; names must be unique."
            )
        have = len(instruction.input_sets)
        if have != self.inputs:
            extra = " plus the user's prompt TokenSet last" if instruction.prompt_index is not None else ""
            raise InstructionError(
                f"{type(instruction).__name__} {instruction.name!r} has {have} input line(s) but protocol "
                f"{self.name!r} has inputs={self.inputs}; give it {self.inputs} context TokenSet(s){extra}."
            )
        self.instructions.append(instruction)

    # --- derived -----------------------------------------------------------
    def key_map(self) -> KeyMap:
        """The keys this protocol gives its tokens."""
        return KeyMap(self.encrypt)

    def guardrail_map(self) -> dict[str, Guardrail]:
        """Guardrail by guarded TokenSet value-key."""
        return guardrail_map(self.instructions)

    def validate(self, version: str | FormatVersion | None = None) -> list[Problem]:
        """Every problem that would stop :meth:`save` in ``version`` (default 0.3.2), all at once (empty when valid)."""
        return validate_protocol(self, format_version(version))

    def _require_valid(self, version: FormatVersion) -> None:
        problems = self.validate(version)
        if problems:
            raise MTPValidationError(problems)

    # --- files -------------------------------------------------------------
    @classmethod
    def from_json(cls, document: dict[str, Any], *, source: str | None = None) -> "Protocol":
        """The protocol of a parsed model file of any supported version (bloom 0.3.x, 1.x, 2.0.x).

        Raises MTPFileError, naming the JSON pointer of the problem, for anything
        that is not a readable model file; ``source`` names the file in messages.
        """
        return protocol_from_json(document, source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Protocol":
        """The protocol stored in the model file at ``path`` (see :meth:`from_json`)."""
        return load_protocol(path)

    def to_json(self, version: str | FormatVersion | None = None) -> dict[str, Any]:
        """The model file content as a dict (validated first); ``version``: "0.3.2" (default), "1.2.1", "2.0.1"."""
        fmt = format_version(version)
        self._require_valid(fmt)
        return model_document(self, fmt)

    def template_json(self, version: str | FormatVersion | None = None) -> dict[str, Any]:
        """The template file content as a dict (validated first); templates 0.3.2, 1.2.0, 2.1.0 go with
        model versions "0.3.2" (default), "1.2.1", "2.0.1" (the template versions name them too)."""
        fmt = format_version(version, template=True)
        self._require_valid(fmt)
        return template_document(self, fmt)

    def save(
        self,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        version: str | FormatVersion | None = None,
    ) -> Path:
        """Validate and write ``{name}_model.json`` into ``path`` (default: the current directory).

        ``version`` picks the layout: "0.3.2" (default), "1.2.1" or "2.0.1".
        Returns the path written. The write is atomic: on any error the previous
        file is left as it was.
        """
        file_name = self.name if name is None else name
        target = _target(path, file_name, "_model.json")
        fmt = format_version(version)
        self._require_valid(fmt)
        write_json_atomic(target, model_document(self, fmt, lazy=True))  # streamed: bounded memory
        return target

    def template(
        self, path: str | os.PathLike[str] | None = None, version: str | FormatVersion | None = None
    ) -> Path:
        """Validate and write ``{name}_template.json`` into ``path`` (default: the current directory).

        ``version`` names the model layout it goes with: "0.3.2" (template 0.3.2,
        default), "1.2.1" (template 1.2.0) or "2.0.1" (template 2.1.0); the
        template versions "1.2.0" and "2.1.0" are accepted too.
        """
        target = _target(path, self.name, "_template.json")
        write_json_atomic(target, self.template_json(version))
        return target

    def __repr__(self) -> str:
        return f"Protocol(name={self.name!r}, inputs={self.inputs}, instructions={len(self.instructions)})"


def _check_file_name(name: Any, what: str) -> None:
    """Names become file names: refuse empty ones and ones that would leave the target directory."""
    if not isinstance(name, str):
        raise ProtocolTypeError(f"{what} must be a string, got {type(name).__name__} {name!r}.")
    problem = file_name_problem(name)
    if problem is not None:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise ProtocolError(f"{what} {shown!r} cannot be used as a file name: it {problem}; pass the directory as "
                            "path= and a short plain name.")


def _target(path: str | os.PathLike[str] | None, name: str, suffix: str) -> Path:
    _check_file_name(name, "File name")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ProtocolTypeError(f"path must be a directory path (str or Path), got {type(path).__name__} {path!r}.")
    file_name = name + suffix
    directory = Path.cwd() if path is None else Path(path)
    if directory.exists() and not directory.is_dir():
        raise ProtocolError(f"path={str(directory)!r} is an existing file; path= names the directory to write into.")
    target = directory / file_name
    if target.resolve().parent != directory.resolve():
        raise ProtocolError(f"Refusing to write {file_name!r} outside {str(directory)!r}.")
    return target
