"""The field checks of the model-file reader: each value's JSON type, checked where it is read.

Every failed check raises one :class:`MTPFileError` at the JSON pointer of the
offending value, in words a user can act on ("missing required field 'name'",
"'inputs' must be an integer, found a string").

The shipped JSON Schemas say the same things about types, but they are not
used here: their validators word the errors differently ("'name' is a required
property", reported at the parent object), five readable versions (bloom
0.3.0, 0.3.1, 0.3.3, 0.4.0, 1.0.0) have no shipped schema, and validating every
sample of a million-sample file against a schema costs more than reading it
(``mtp validate`` runs the schemas, :mod:`._filecheck`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, NoReturn

from ..errors import MTPError, MTPFileError, json_pointer

__all__ = ["FieldChecks", "pointer", "pointer_join", "kind_of"]


def pointer(*parts: Any) -> str:
    """A JSON pointer (RFC 6901) from path parts."""
    return json_pointer(parts)


def pointer_join(base: str, *parts: Any) -> str:
    """``base`` followed by the pointer of ``parts``."""
    return base + pointer(*parts)


class FieldChecks:
    """Checked access to the fields of one document; ``source`` names the file in every error."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, message: str, at: str, hint: str = "") -> NoReturn:
        raise MTPFileError(message, path=self.source, pointer=at, hint=hint)

    @contextmanager
    def at(self, where: str) -> Iterator[None]:
        """Re-raise object-model errors as MTPFileError at ``where``."""
        try:
            yield
        except MTPFileError:
            raise
        except MTPError as exc:
            raise MTPFileError(str(exc), path=self.source, pointer=where) from exc

    def get(self, obj: dict, key: str, types: type | tuple[type, ...], where: str, *, required: bool = True,
            default: Any = None) -> Any:
        """``obj[key]`` checked against ``types`` (bool is never an int here)."""
        if key not in obj:
            if required:
                self.fail(f"missing required field {key!r}", where)
            return default
        value = obj[key]
        if not _is(value, types):
            self.fail(f"{key!r} must be {_names(types)}, found {kind_of(value)}", pointer_join(where, key))
        return value

    def strings(self, obj: dict, key: str, where: str, *, required: bool = True) -> list[str]:
        """``obj[key]``, a list of strings."""
        items = self.get(obj, key, list, where, required=required, default=[])
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"{key!r} items must be strings, found {kind_of(item)}", pointer_join(where, key, i))
        return items

    def per_row(self, sample: dict, key: str, rows: int, where: str) -> list[list]:
        """``sample[key]``: one list per set row."""
        items = self.get(sample, key, list, where)
        if len(items) != rows:
            self.fail(f"{key!r} needs one list per set row ({rows}), found {len(items)}", pointer_join(where, key))
        for i, item in enumerate(items):
            if not isinstance(item, list):
                self.fail(f"{key!r} items must be lists, found {kind_of(item)}", pointer_join(where, key, i))
        return items


def _is(value: Any, types: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in (types if isinstance(types, tuple) else (types,))
    return isinstance(value, types)


_KIND = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
         float: "a number", type(None): "null"}


def kind_of(value: Any) -> str:
    """What a JSON value is, in words: "an object", "a string", ..."""
    return _KIND.get(type(value), type(value).__name__)


def _names(types: type | tuple[type, ...]) -> str:
    items = types if isinstance(types, tuple) else (types,)
    names = []
    for t in items:
        name = _KIND.get(t, t.__name__)
        if name not in names and not (t is float and int in items):
            names.append(name)
    return " or ".join(names)
