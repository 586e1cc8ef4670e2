"""The JSON Schemas shipped with the package, found by a document's ``$schema``.

Schemas live in ``model_train_protocol/schemas/v{major}/{kind}_{x_y_z}.json``
and are written for this project (stricter than the reference's wherever our
writers are). Each schema's ``$id`` is the very URL that files name in their
``$schema`` (``https://mtp.schemas.databiomes.com/v0/bloom_0_3_2.json``), so a
file is checked against the schema it claims; new versions need only a new
file in the right folder.

Validation runs on the Rust-backed ``jsonschema-rs`` when it is installed (a
100k-sample file in a fraction of a second, so whole files are checked), else
on ``jsonschema``; both report the same pointers and keywords.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterator

from ..errors import MTPFileError, json_pointer
from ..rules import parse_schema_url

#: jsonschema-rs, imported on the first validation (importing it costs every ``import model_train_protocol`` a
#: fortieth of a second); ``...`` until then, None when it is not installed.
_rust: Any = ...


def _fast() -> Any:
    """The jsonschema-rs module, or None when it is not installed."""
    global _rust
    if _rust is ...:
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - exercised by forcing the fallback in tests
            jsonschema_rs = None
        _rust = jsonschema_rs
    return _rust

__all__ = ["SchemaProblem", "parse_schema_url", "load_schema", "schema_for", "schema_problems", "json_pointer",
           "fast_validation"]

#: Messages longer than this are cut: a ``const`` failure would print a whole object.
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: where (JSON pointer, ``""`` for the document), what, and the failing keyword."""

    pointer: str
    message: str
    keyword: str = ""

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


@lru_cache(maxsize=None)
def load_schema(kind: str, version: str) -> dict[str, Any]:
    """The shipped schema of ``kind`` (bloom, template, ...) and ``version`` (``"0.3.2"``)."""
    major = version.split(".")[0]
    name = f"{kind}_{version.replace('.', '_')}.json"
    resource = resources.files("model_train_protocol").joinpath("schemas", f"v{major}", name)
    if not resource.is_file():
        raise MTPFileError(f"No schema for {kind} {version} ships with this package (looked for schemas/v{major}/{name}).",
                           pointer="/$schema")
    return json.loads(resource.read_text(encoding="utf-8"))


#: One violation as the validators report it: (path of keys and indexes, message, keyword).
_Error = tuple[list[Any], str, str]


def fast_validation() -> bool:
    """Whether the fast validator (jsonschema-rs) is installed, so whole files can be checked."""
    return _fast() is not None


@lru_cache(maxsize=None)
def _validator(kind: str, version: str, backend: str = "auto") -> Callable[[Any], Iterator[_Error]]:
    """``iter_errors`` of the schema's validator: jsonschema-rs unless missing or ``backend="jsonschema"``."""
    schema = load_schema(kind, version)
    fast = _fast()
    if fast is not None and backend in ("auto", "jsonschema-rs"):
        rust = fast.Draft202012Validator(schema)
        return lambda document: ((list(e.instance_path), e.message, e.kind.name) for e in rust.iter_errors(document))
    from jsonschema import Draft202012Validator

    python = Draft202012Validator(schema)
    return lambda document: ((list(e.absolute_path), e.message, str(e.validator)) for e in python.iter_errors(document))


def schema_for(document: Any) -> dict[str, Any]:
    """The shipped schema named by ``document["$schema"]``; MTPFileError when missing or unknown."""
    if not isinstance(document, dict):
        raise MTPFileError(f"An MTP file holds a JSON object, not {type(document).__name__}.")
    if "$schema" not in document:
        raise MTPFileError("The document has no $schema, so its format version is unknown.", pointer="/$schema")
    return load_schema(*parse_schema_url(document["$schema"]))


def schema_problems(document: Any, backend: str = "auto") -> list[SchemaProblem]:
    """Every violation of the schema the document names, sorted by pointer then message (empty: valid).

    ``backend`` is ``"auto"`` (jsonschema-rs when installed), ``"jsonschema-rs"`` or ``"jsonschema"``.
    """
    schema_for(document)  # raises for a missing or unknown $schema
    kind, version = parse_schema_url(document["$schema"])
    problems = {
        SchemaProblem(json_pointer(path), _short(message), keyword)
        for path, message, keyword in _validator(kind, version, backend)(document)
    }
    return sorted(problems, key=lambda p: (_pointer_key(p.pointer), p.message, p.keyword))


def _pointer_key(pointer: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts ``/sets/2`` before ``/sets/10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in pointer.split("/")[1:])


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
