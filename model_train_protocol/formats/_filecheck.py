"""Checking model and template files on disk: JSON syntax, schema, loading, and the protocol rules.

What ``mtp validate`` runs, usable from Python: :func:`check_file` returns every
problem of one file, each with where it is (a JSON pointer into the file, or
the rule id and object of a protocol rule) and how to fix it, and the warnings
of a valid model file (samples too uniform to generalise: :func:`..rules.uniformity_warnings`),
which never make it invalid.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MTPError, MTPFileError
from ._schemas import fast_validation, load_schema, schema_problems
from ..jsonio import read_json_file
from ..rules import parse_schema_url, rules_of, uniformity_warnings


__all__ = ["FileProblem", "FileCheck", "check_file", "check_document", "file_kind"]

_KINDS = {"bloom": "model", "template": "template"}
#: Samples per instruction set checked against the JSON Schema by the slow fallback validator (``jsonschema``,
#: about 0.3 ms a sample) unless a full check is asked for; with ``jsonschema-rs`` every sample is checked.
SCHEMA_SAMPLES_PER_SET = 1000
_READ_HINT = "MTP files are UTF-8 JSON objects; write the file again (a truncated file cannot be repaired)."


@dataclass(frozen=True)
class FileProblem:
    """One problem of a file.

    ``pointer`` is the JSON pointer of the offending value (``""`` is the whole
    document; None for protocol rules, which name their object in ``where``).
    """

    rule: str
    message: str
    hint: str
    pointer: str | None = None
    where: str | None = None

    def __str__(self) -> str:
        at = self.where if self.pointer is None else (self.pointer or "/")
        fix = f" Fix: {self.hint}" if self.hint else ""
        return f"[{self.rule}] {at}: {self.message}{fix}"


@dataclass
class FileCheck:
    """The result of checking one file: its kind (``model``/``template``/``unknown``), version and problems.

    ``schema_checked`` is False for versions whose JSON Schema the package does
    not ship (their model files are still loaded and checked rule by rule).
    ``warnings`` are :class:`FileProblem` s too, but a file with only warnings is valid.
    """

    path: str
    kind: str = "unknown"
    version: str | None = None
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
    schema_checked: bool = False
    schema_samples_skipped: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "kind": self.kind,
            "version": self.version,
            "valid": self.valid,
            "schema_checked": self.schema_checked,
            "schema_samples_skipped": self.schema_samples_skipped,
            "problems": [asdict(p) for p in self.problems],
            "warnings": [asdict(w) for w in self.warnings],
        }


def file_kind(document: Any) -> tuple[str, str | None]:
    """(``model`` | ``template`` | ``unknown``, version) from the ``$schema`` URL, else from the fields."""
    if not isinstance(document, dict):
        return "unknown", None
    schema = document.get("$schema")
    try:
        kind, version = parse_schema_url(schema)
    except MTPFileError:  # a foreign $schema: the fields tell the kind, the schema check reports the URL
        kind, version = "", None
    if kind in _KINDS:
        return _KINDS[kind], version
    if "instructions" in document and "example_usage" in document:
        return "template", None
    if "instruction" in document or "tokens" in document:
        version = document.get("version")
        return "model", version if isinstance(version, str) else None
    return "unknown", None


def check_file(path: str | os.PathLike[str], full_schema: bool = False) -> FileCheck:
    """Every problem of the model or template file at ``path`` (an unreadable file is one problem).

    See :func:`check_document` for ``full_schema``.
    """
    result = FileCheck(str(path))
    try:
        document = read_json_file(path)
    except MTPFileError as exc:
        result.problems.append(FileProblem("file.json", exc.message, _READ_HINT, pointer=""))
        return result
    return check_document(document, result, full_schema)


def check_document(document: Any, result: FileCheck | None = None, full_schema: bool = False) -> FileCheck:
    """Schema, loading and protocol-rule problems of a parsed model or template document.

    With ``jsonschema-rs`` installed (a dependency) the JSON Schema check covers
    the whole document. On the ``jsonschema`` fallback it costs about 0.3 ms per
    sample, so unless ``full_schema`` is set it covers the first
    :data:`SCHEMA_SAMPLES_PER_SET` samples of each set (``schema_samples_skipped``
    counts the rest); the loader still checks every sample's fields and types,
    and the protocol rules (lengths, counts) cover every sample.
    """
    result = result if result is not None else FileCheck("<document>")
    result.kind, result.version = file_kind(document)
    if result.kind == "unknown":
        result.problems.append(FileProblem(
            "file.kind", "not an MTP model or template file (no bloom/template $schema, no instruction fields).",
            "Pass a {name}_model.json or {name}_template.json file.", pointer=""))
        return result
    whole = full_schema or fast_validation()
    _check_schema(document if whole else _schema_subset(document, result), result)
    if result.kind == "model":
        _check_model(document, result)
    return result


def _check_schema(document: dict, result: FileCheck) -> None:
    """Schema problems, when the package ships the schema the file names (else ``schema_checked`` stays False)."""
    if "$schema" not in document:
        return  # bloom 0.3.0 named its version in "version"; the reader checks those files
    try:
        kind, version = parse_schema_url(document["$schema"])
    except MTPFileError as exc:
        if result.kind == "template":  # model files get the reader's message for the same pointer
            result.problems.append(FileProblem("schema", exc.message, "Use the $schema URL of a known version.",
                                               pointer=exc.pointer))
        return
    try:
        load_schema(kind, version)
    except MTPFileError:
        return  # a version we read but ship no schema for
    result.schema_checked = True
    hint = f"Make this value match the {kind} {version} JSON Schema."
    for problem in schema_problems(document):
        result.problems.append(FileProblem("schema", problem.message, hint, pointer=problem.pointer))


def _schema_subset(document: dict, result: FileCheck) -> dict:
    """``document`` with each set's samples cut to the first :data:`SCHEMA_SAMPLES_PER_SET` (pointers unchanged)."""
    block = document.get("instruction")
    sets = block.get("sets") if isinstance(block, dict) else None
    if not isinstance(sets, list):
        return document
    cut = []
    for item in sets:
        samples = item.get("samples") if isinstance(item, dict) else None
        if isinstance(samples, list) and len(samples) > SCHEMA_SAMPLES_PER_SET:
            result.schema_samples_skipped += len(samples) - SCHEMA_SAMPLES_PER_SET
            item = {**item, "samples": samples[:SCHEMA_SAMPLES_PER_SET]}
        cut.append(item)
    if not result.schema_samples_skipped:
        return document
    return {**document, "instruction": {**block, "sets": cut}}


def _check_model(document: dict, result: FileCheck) -> None:
    from ..authoring import Protocol

    try:
        protocol = Protocol.from_json(document)
    except MTPFileError as exc:
        # The reader's message is written for people: it replaces the schema's words for the same place.
        result.problems = [p for p in result.problems if p.pointer != exc.pointer]
        result.problems.append(FileProblem("file.content", exc.message, _content_hint(exc), pointer=exc.pointer))
        return
    except MTPError as exc:  # the reader wraps its errors as MTPFileError; anything else is still the file's fault
        result.problems.append(FileProblem("file.content", str(exc).splitlines()[0],
                                           "Correct the file so it describes a valid protocol.", pointer=""))
        return
    for problem in protocol.validate(version=rules_of(result.version)):  # the layout we write for its major
        result.problems.append(FileProblem(problem.rule, problem.message, problem.hint,
                                           pointer=problem.pointer, where=problem.where))
    for warning in uniformity_warnings(protocol):
        result.warnings.append(FileProblem(warning.rule, warning.message, warning.hint,
                                           pointer=warning.pointer, where=warning.where))


def _content_hint(exc: MTPFileError) -> str:
    return exc.hint or f"Correct the value at {exc.pointer or 'the top level'} as the message says."
