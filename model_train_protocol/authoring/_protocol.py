"""The Protocol: everything a model is trained on, validated and saved as two files.

The protocol holds the author's objects and knows nothing of file versions,
rules, rendering or file formats, which are layers above it. Its methods that
need them (``validate``, ``to_json``, ``template_json``, ``save``,
``template``, ``load``, ``from_json``) go through :func:`_files`, the
package's one upward import, done lazily on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import InstructionError, Problem, ProtocolError, ProtocolTypeError, StateMachineError
from ._guardrail import Guardrail
from ._instructions import BaseInstruction, guardrail_map
from ..text import file_name_problem
from ._tokens import KeyMap, SpecialToken, Token

if TYPE_CHECKING:
    from ..runtime import RuntimeSpec

#: A file layout: ``"0.3.2"``, ``"1.2.1"``, ``"2.0.1"`` (or a ``rules.FormatVersion``, a layer above).
Version = Any

__all__ = ["Protocol"]


class Protocol:
    """A named collection of context lines and instructions.

    ``inputs`` is the number of input lines of every sample; ``encrypt`` (the
    default) replaces token names by 6-hex hashes in what the model sees.
    ``version`` is the file layout written when a method is given none (default
    bloom 0.3.2 for generative protocols, see :meth:`save`).
    """

    def __init__(self, name: str, inputs: int, encrypt: bool = True, version: Version = None) -> None:
        self.name = name
        self.inputs = inputs
        self.encrypt = encrypt
        self.version = version
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
        elif attribute == "version" and value is not None:
            _files().format_version(value)  # an unknown layout fails here, not at the first save
        object.__setattr__(self, attribute, value)

    # --- building ----------------------------------------------------------
    def add_context(self, line: str) -> None:
        """Add a background line about the model's world (ten lines are needed in total)."""
        if not isinstance(line, str):
            raise ProtocolTypeError(f"Context must be a string, got {type(line).__name__} {line!r}.")
        self.context.append(line)

    def add_instruction(self, instruction: BaseInstruction) -> None:
        """Add an instruction; its input lines must match the protocol's ``inputs``.

        Samples may still be added to the instruction afterwards; they are
        checked by :meth:`validate`.
        """
        if not isinstance(instruction, BaseInstruction):
            raise ProtocolTypeError(
                "add_instruction needs an mtp.Instruction, ExtendedInstruction, StateMachineInstruction or "
                f"MultiClassifierInstruction, got {type(instruction).__name__}."
            )
        if any(i is instruction for i in self.instructions):
            raise InstructionError(f"Instruction {instruction.name!r} was already added to this protocol.")
        _check_model_type(self, instruction)  # first: a second state machine is a StateMachineError, whatever its name
        if any(i.name == instruction.name for i in self.instructions):
            raise InstructionError(
                f"An instruction with name {instruction.name!r} already exists in protocol {self.name!r}; names must be unique."
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
    @property
    def model_type(self) -> str:
        """``"generative"``, ``"state_machine"`` or ``"multi_classifier"``: what its instructions train (FORMAT.md 5.2)."""
        return self.instructions[0].model_type if self.instructions else "generative"

    @property
    def input_count(self) -> int:
        """The reference's name for :attr:`inputs`."""
        return self.inputs

    @property
    def state_machine(self) -> bool:
        """True for a state-machine protocol (the ``state_machine`` field of bloom 1.x files)."""
        return self.model_type == "state_machine"

    @property
    def tokens(self) -> set[Token]:
        """The tokens of the user's instructions (their lines and finals); the special tokens are not among them."""
        found: set[Token] = set()
        for instruction in self.instructions:
            for ts in instruction.rows:
                found.update(ts.tokens)
            found.update(instruction.finals)
        return {t for t in found if not isinstance(t, SpecialToken)}

    def key_map(self) -> KeyMap:
        """The keys this protocol gives its tokens."""
        return KeyMap(self.encrypt)

    def guardrail_map(self) -> dict[str, Guardrail]:
        """Guardrail by guarded TokenSet value-key."""
        return guardrail_map(self.instructions)

    def validate(self, version: Version = None) -> list[Problem]:
        """Every problem that would stop :meth:`save` in ``version`` (default: see :meth:`save`), all at once
        (empty when valid)."""
        return _files().validate(self, self.layout(version))

    def runtime_spec(self, template: Mapping[str, Any] | None = None, refusal: Any = None,
                     intent: Any = None) -> "RuntimeSpec":
        """The runtime spec a model trained on this protocol answers from (what ``runtime.json`` holds), for
        ``template`` (default: :meth:`template_json`) and training's refusal and intent sections.

        Compiled by :mod:`model_train_protocol.rules`, imported on first use: inference receives the spec
        and never imports the authoring side itself.
        """
        from ..rules import compile_runtime

        return compile_runtime(self.template_json() if template is None else template, self, refusal, intent)

    # --- files -------------------------------------------------------------
    @classmethod
    def from_json(cls, document: dict[str, Any], *, source: str | None = None) -> "Protocol":
        """The protocol of a parsed model file of any supported version (bloom 0.3.x, 1.x, 2.0.x).

        Raises MTPFileError, naming the JSON pointer of the problem, for anything
        that is not a readable model file; ``source`` names the file in messages.
        """
        return _files().from_json(document, source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Protocol":
        """The protocol stored in the model file at ``path`` (see :meth:`from_json`)."""
        return _files().load(path)

    def to_json(self, version: Version = None) -> dict[str, Any]:
        """The model file content as a dict (validated first); ``version`` as in :meth:`save`."""
        return _files().model_json(self, self.layout(version))

    def template_json(self, version: Version = None) -> dict[str, Any]:
        """The template file content as a dict (validated first); templates 0.3.2, 1.2.0, 2.1.0 go with
        model versions "0.3.2" (default), "1.2.1", "2.0.1" (the template versions name them too)."""
        return _files().template_json(self, self.layout(version))

    def save(
        self,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        version: Version = None,
    ) -> Path:
        """Validate and write ``{name}_model.json`` into ``path`` (default: the current directory).

        ``version`` picks the layout: "0.3.2", "1.1.0", "1.2.0", "1.2.1", "2.0.0" or "2.0.1"; the default is
        "0.3.2" for generative protocols and "2.0.1" for state machines and multi-classifiers, which 0.3.2
        cannot hold (the rules' ``format_version``).
        Returns the path written. The write is atomic: on any error the previous
        file is left as it was.
        """
        file_name = self.name if name is None else name
        target = _target(path, file_name, "_model.json")
        _files().write_model(self, target, self.layout(version))
        return target

    def template(
        self, path: str | os.PathLike[str] | None = None, version: Version = None
    ) -> Path:
        """Validate and write ``{name}_template.json`` into ``path`` (default: the current directory).

        ``version`` names the model layout it goes with: "0.3.2" (template 0.3.2),
        "1.1.0" and "1.2.x" (template 1.2.0) or "2.0.x" (template 2.1.0); the
        template versions "1.2.0" and "2.1.0" are accepted too. The default is
        that of :meth:`save`.
        """
        target = _target(path, self.name, "_template.json")
        _files().write_template(self, target, self.layout(version))
        return target

    def validate_protocol(self) -> tuple[bool, str | None]:
        """The reference's check: ``(True, None)``, or ``(False, message)`` listing every problem."""
        problems = self.validate()
        return (True, None) if not problems else (False, "\n".join(map(str, problems)))

    def layout(self, version: Version = None) -> Version:
        """The layout a method given ``version`` works in: ``version``, else the protocol's own (None: the default
        for what it trains, see :meth:`save`). Training text follows it too, as its template describes it."""
        return self.version if version is None else version

    def __repr__(self) -> str:
        return f"Protocol(name={self.name!r}, inputs={self.inputs}, instructions={len(self.instructions)})"


def _check_model_type(protocol: Protocol, instruction: BaseInstruction) -> None:
    """One protocol trains one kind of model, and a state machine is a single instruction (as the reference)."""
    if not protocol.instructions:
        return
    first = protocol.instructions[0]
    kind = type(instruction).__name__
    if "state_machine" in (first.model_type, instruction.model_type):
        if first.model_type == instruction.model_type:
            raise StateMachineError(
                f"A state machine protocol can only have one instruction. {protocol.name!r} already has "
                f"{first.name!r}, and a state-machine protocol has exactly one instruction: put every transition "
                "into its samples.")
        raise StateMachineError(
            f"A protocol trains one kind of model: {protocol.name!r} trains a {first.model_type!r} model because of "
            f"instruction {first.name!r}, but {instruction.name!r} ({kind}) trains a {instruction.model_type!r} model; "
            "use a separate protocol for it.")
    if first.model_type != instruction.model_type:
        raise ProtocolTypeError(
            f"A protocol trains one kind of model: {protocol.name!r} trains a {first.model_type!r} model because of "
            f"instruction {first.name!r}, but {instruction.name!r} ({kind}) trains a {instruction.model_type!r} model; "
            "use a separate protocol for it.")


def _files() -> ModuleType:
    """``formats.protocol_files``: the protocol's file methods (versions, rules and file formats), imported on first use.

    The one place where a lower layer reaches up (tests/test_architecture.py
    allows exactly this edge): the protocol is the author's object model, and
    saving it is the formats' job.
    """
    from ..formats import protocol_files

    return protocol_files


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
