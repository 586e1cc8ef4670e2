"""What :class:`~model_train_protocol.authoring.Protocol` does with versions, rules and files.

The protocol sits below the layers that know file versions, validation rules,
the renderer and the file formats, so its ``validate``, ``to_json``,
``template_json``, ``save``, ``template``, ``load`` and ``from_json`` reach
them through this one module, imported lazily on first use: the one documented
upward call of the package (as pandas' ``DataFrame.to_parquet`` reaches its
I/O layer). Everything here takes the protocol as an argument.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MTPValidationError, Problem
from ..rules import FormatVersion, format_version, validate_protocol
from ..jsonio import write_json_atomic
from ._model_file import model_document
from ._reader import load_protocol, protocol_from_json
from ._template_file import template_document

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["validate", "model_json", "template_json", "write_model", "write_template", "load", "from_json"]


def _checked(protocol: "Protocol", version: "str | FormatVersion | None",
             template: bool = False) -> tuple[FormatVersion, list[Problem]]:
    """The layout ``version`` names and the protocol's problems in it; None: the default for what the protocol
    trains (``versions.default_version``)."""
    fmt = format_version(version, template=template, model_type=_model_type(protocol))
    return fmt, validate_protocol(protocol, fmt)


def _valid_layout(protocol: "Protocol", version: "str | FormatVersion | None", template: bool = False) -> FormatVersion:
    """The layout to write in (see :func:`_checked`), after validating the protocol there once."""
    fmt, problems = _checked(protocol, version, template)
    if problems:
        raise MTPValidationError(problems)
    return fmt


def _model_type(protocol: "Protocol") -> str:
    try:
        return protocol.model_type
    except AttributeError:  # an instruction list edited by hand to hold foreign objects: validation reports it
        return "generative"


def validate(protocol: "Protocol", version: "str | FormatVersion | None") -> list[Problem]:
    """Every problem that would stop a save in ``version`` (default: 0.3.2, or 2.0.1 for state machines and
    multi-classifiers)."""
    return _checked(protocol, version)[1]


def model_json(protocol: "Protocol", version: "str | FormatVersion | None") -> dict[str, Any]:
    """The model file content (validated first)."""
    fmt = _valid_layout(protocol, version)
    return model_document(protocol, fmt)


def template_json(protocol: "Protocol", version: "str | FormatVersion | None") -> dict[str, Any]:
    """The template file content (validated first); template versions name their layouts too."""
    fmt = _valid_layout(protocol, version, template=True)
    return template_document(protocol, fmt)


def write_model(protocol: "Protocol", target: Path, version: "str | FormatVersion | None") -> None:
    """Validate, then write the model file atomically, streamed (bounded memory)."""
    fmt = _valid_layout(protocol, version)
    write_json_atomic(target, model_document(protocol, fmt, lazy=True))


def write_template(protocol: "Protocol", target: Path, version: "str | FormatVersion | None") -> None:
    """Validate, then write the template file atomically."""
    write_json_atomic(target, template_json(protocol, version))


def load(path: "str | os.PathLike[str]") -> "Protocol":
    """The protocol of the model file at ``path``."""
    return load_protocol(path)


def from_json(document: dict[str, Any], source: str | None) -> "Protocol":
    """The protocol of a parsed model file."""
    return protocol_from_json(document, source=source)
