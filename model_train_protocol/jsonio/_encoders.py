"""The MTP file text, produced fast: exactly ``json.dumps(doc, indent=4, ensure_ascii=False)``.

With an indent the standard library falls back to its pure-Python encoder
(about 20 µs per sample of a model file); this module produces the very same
text about six times faster (docs/benchmarks.md):

- every *flat* container (one whose items are scalars or empty containers,
  e.g. a sample's ``strings``) is encoded in one call of the C encoder, whose
  item separator is set to the newline and indentation of that depth;
- the items of long lists (a model file's samples) go through encoders
  generated for their shape, which check every type, length and key order and
  return the item's text in one join (any other item takes the general walk);
- only the containers above them are walked in Python.

:func:`dump` streams the text in chunks, and a :class:`LazyList` in the
document (a list produced on demand, such as a million samples) is never held
in memory as a whole.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any, Callable, Iterable, Iterator

try:  # the C accelerator; always present in CPython
    from _json import make_encoder as _c_make_encoder
except ImportError:  # pragma: no cover - other interpreters
    _c_make_encoder = None


INDENT = 4

_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_CONTAINER_TYPES = frozenset((list, tuple, dict))
#: Items of a long list are joined and streamed this many at a time.
_BLOCK = 2048


class LazyList:
    """A JSON array whose items are made on demand, so a huge array is never held at once.

    ``factory`` returns a fresh iterator over the items each time it is
    called; ``length`` is the number of items (the writer needs to know
    whether the array is empty). ``list(lazy)`` gives the materialized list.
    """

    __slots__ = ("factory", "length")

    def __init__(self, factory: Callable[[], Iterable[Any]], length: int) -> None:
        self.factory = factory
        self.length = length

    def __iter__(self) -> Iterator[Any]:
        return iter(self.factory())

    def __len__(self) -> int:
        return self.length


def _float_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("Out of range float values are not JSON compliant: " + repr(value))
    return float.__repr__(value)


def _scalar_text(value: Any) -> str | None:
    """JSON text of a scalar (subclasses included), or None when ``value`` is not one."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(value)
    return None


def _key_text(key: Any) -> str:
    """A dict key as JSON text, converted the way :func:`json.dumps` converts it."""
    if isinstance(key, str):
        return encode_basestring(key)
    if isinstance(key, float):
        return encode_basestring(_float_text(key))
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, int):
        return encode_basestring(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


class _Writer:
    """Appends the text of a document to ``parts``; ``flush`` (if any) empties them into a file."""

    def __init__(self, flush: Callable[[list[str]], None] | None = None) -> None:
        self.parts: list[str] = []
        self.flush = flush
        self._flat: dict[int, Any] = {}  # depth -> C encoder whose separator indents that depth
        self._markers: set[int] = set()

    # --- flat containers ----------------------------------------------------
    def _flat_encoder(self, depth: int) -> Any:
        encoder = self._flat.get(depth)
        if encoder is None:
            separator = ",\n" + " " * (INDENT * depth)
            encoder = self._flat[depth] = _c_make_encoder(
                None, None, encode_basestring, None, ": ", separator, False, False, False
            )
        return encoder

    @staticmethod
    def _is_flat(values: Any) -> bool:
        """True when every value is an exact scalar or an empty list/tuple/dict."""
        kinds = set(map(type, values))
        if kinds <= _SCALAR_TYPES:
            return True
        if kinds <= _CONTAINER_TYPES:
            return not any(values)
        return all(type(v) in _SCALAR_TYPES or (type(v) in _CONTAINER_TYPES and not v) for v in values)

    def _write_flat(self, value: Any, depth: int) -> None:
        """A non-empty flat list/dict at ``depth``: the C encoder with an indenting separator."""
        text = "".join(self._flat_encoder(depth + 1)(value, 0))
        inner = "\n" + " " * (INDENT * (depth + 1))
        self.parts.append(text[0] + inner + text[1:-1] + "\n" + " " * (INDENT * depth) + text[-1])

    # --- the walk -------------------------------------------------------------
    def write(self, value: Any, depth: int = 0) -> None:
        kind = type(value)
        if kind is str:
            self.parts.append(encode_basestring(value))
        elif kind is dict:
            self._write_dict(value, depth)
        elif kind is list or kind is tuple:
            self._write_list(value, depth)
        elif kind is LazyList:
            self._write_list(value, depth, lazy=True)
        else:
            text = _scalar_text(value)
            if text is not None:
                self.parts.append(text)
            elif isinstance(value, (list, tuple)):
                self._write_list(value, depth, generic=True)
            elif isinstance(value, dict):
                self._write_dict(value, depth, generic=True)
            else:
                raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")

    def _enter(self, value: Any) -> None:
        marker = id(value)
        if marker in self._markers:
            raise ValueError("Circular reference detected")
        self._markers.add(marker)

    def _write_list(self, value: Any, depth: int, lazy: bool = False, generic: bool = False) -> None:
        if not value:
            self.parts.append("[]")
            return
        if not lazy and not generic and _c_make_encoder is not None and self._is_flat(value):
            self._write_flat(value, depth)
            return
        self._enter(value)
        parts = self.parts
        inner = " " * (INDENT * (depth + 1))
        parts.append("[\n" + inner)
        separator = ",\n" + inner
        if len(value) >= _COMPILE_FROM:
            self._write_items_compiled(value, depth + 1, separator)
        else:
            first = True
            for item in value:
                if first:
                    first = False
                else:
                    parts.append(separator)
                self.write(item, depth + 1)
        self.parts.append("\n" + " " * (INDENT * depth) + "]")
        self._markers.discard(id(value))

    def _write_items_compiled(self, items: Any, depth: int, separator: str) -> None:
        """The items of a long list, each through a compiled shape encoder, joined in blocks and streamed."""
        shapes = _Shapes(self, depth)
        parts = self.parts
        texts: list[str] = []
        append = texts.append
        encoder = None
        started = False
        for item in items:
            text = None if encoder is None else encoder(item)
            if text is None:
                text, encoder = shapes.find(item)
                if text is None:
                    text = self.text_of(item, depth)
            append(text)
            if len(texts) >= _BLOCK:
                if started:
                    parts.append(separator)
                parts.append(separator.join(texts))
                texts.clear()
                started = True
                if self.flush is not None:
                    self.flush(parts)
        if texts:
            if started:
                parts.append(separator)
            parts.append(separator.join(texts))

    def _write_dict(self, value: Any, depth: int, generic: bool = False) -> None:
        if not value:
            self.parts.append("{}")
            return
        if not generic and _c_make_encoder is not None and self._is_flat(value.values()):
            self._write_flat(value, depth)
            return
        self._enter(value)
        parts = self.parts
        inner = " " * (INDENT * (depth + 1))
        parts.append("{\n" + inner)
        separator = ",\n" + inner
        first = True
        for key, item in value.items():
            if first:
                first = False
            else:
                parts.append(separator)
            parts.append(_key_text(key) + ": ")
            self.write(item, depth + 1)
        parts.append("\n" + " " * (INDENT * depth) + "}")
        self._markers.discard(id(value))


    def text_of(self, value: Any, depth: int) -> str:
        """The text of ``value`` at ``depth``, sharing this writer's circular-reference markers."""
        sub = _Writer()
        sub._flat, sub._markers = self._flat, self._markers
        sub.write(value, depth)
        return "".join(sub.parts)


#: Lists at least this long get their items' text from compiled shape encoders.
_COMPILE_FROM = 64
#: A list item whose shape differs from every compiled one is compiled too, up to this many shapes per list.
_MAX_SHAPES = 8
#: Compiled encoders expand containers this deep and this wide; beyond, they call the generic walk.
_MAX_COMPILE_DEPTH = 6
_MAX_COMPILE_WIDTH = 16


class _Shapes:
    """Compiled encoders for the items of one long list (a model file's samples share a few shapes).

    For an item of a new shape, Python source is generated that checks every
    container's type, length and key order and every leaf's type, and returns
    the item's text in one join, or None when an item does not have that shape.
    Each item then costs one call instead of a walk over its containers.
    """

    __slots__ = ("writer", "depth", "encoders", "budget")

    def __init__(self, writer: _Writer, depth: int) -> None:
        self.writer = writer
        self.depth = depth
        self.encoders: list[Callable[[Any], str | None]] = []
        self.budget = _MAX_SHAPES

    def find(self, item: Any) -> tuple[str | None, Callable[[Any], str | None] | None]:
        """``item``'s text and the encoder that made it; (None, None) when no shape fits and none is compiled."""
        for encoder in self.encoders:
            text = encoder(item)
            if text is not None:
                return text, encoder
        if self.budget <= 0:
            return None, None
        self.budget -= 1
        encoder = _compile_shape(item, self.depth, self.writer)
        self.encoders.insert(0, encoder)
        return encoder(item), encoder


def _compile_shape(sample: Any, depth: int, writer: _Writer) -> Callable[[Any], str | None]:
    """Generate an encoder for values shaped like ``sample`` (see :class:`_Shapes`)."""
    lines: list[str] = []
    out: list[str] = []  # expressions whose concatenation is the text
    consts: dict[str, Any] = {"E": encode_basestring, "I": int.__repr__, "F": _float_text, "W": writer.text_of}
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(text: str) -> None:
        if out and out[-1] in consts and isinstance(consts[out[-1]], str):
            consts[out[-1]] += text
            return
        c = name("c")
        consts[c] = text
        out.append(c)

    def emit(var: str, value: Any, level: int, nesting: int) -> None:
        kind = type(value)
        if kind is str:
            lines.append(f"if type({var}) is not str: return None")
            out.append(f"E({var})")
        elif value is None or value is True or value is False:
            lines.append(f"if {var} is not {value!r}: return None")
            const(_scalar_text(value))  # type: ignore[arg-type]
        elif kind is int:
            lines.append(f"if type({var}) is not int: return None")
            out.append(f"I({var})")
        elif kind is float:
            lines.append(f"if type({var}) is not float: return None")
            out.append(f"F({var})")
        elif (kind is list or kind is tuple or kind is dict) and not value:
            lines.append(f"if type({var}) is not {kind.__name__} or {var}: return None")
            const("{}" if kind is dict else "[]")
        elif (kind is list or kind is tuple) and nesting < _MAX_COMPILE_DEPTH and len(value) <= _MAX_COMPILE_WIDTH:
            items = [name("v") for _ in value]
            lines.append(f"if type({var}) is not {kind.__name__} or len({var}) != {len(value)}: return None")
            lines.append(f"{', '.join(items)}, = {var}")
            inner = "\n" + " " * (INDENT * (level + 1))
            for i, (item_var, item) in enumerate(zip(items, value)):
                const(("[" if i == 0 else ",") + inner)
                emit(item_var, item, level + 1, nesting + 1)
            const("\n" + " " * (INDENT * level) + "]")
        elif (
            kind is dict
            and nesting < _MAX_COMPILE_DEPTH
            and len(value) <= _MAX_COMPILE_WIDTH
            and all(type(k) is str for k in value)
        ):
            keys = name("k")
            consts[keys] = list(value)
            lines.append(f"if type({var}) is not dict or list({var}) != {keys}: return None")
            inner = "\n" + " " * (INDENT * (level + 1))
            for i, (key, item) in enumerate(value.items()):
                item_var = name("v")
                lines.append(f"{item_var} = {var}[{keys}[{i}]]")
                const(("{" if i == 0 else ",") + inner + encode_basestring(key) + ": ")
                emit(item_var, item, level + 1, nesting + 1)
            const("\n" + " " * (INDENT * level) + "}")
        else:  # anything else (subclasses, big or deep containers): the generic walk, always right
            out.append(f"W({var}, {level})")

    emit("x", sample, depth, 0)
    body = "\n    ".join(lines)
    source = f"def encode(x):\n    {body}\n    return ''.join(({', '.join(out)},))\n"
    namespace = dict(consts)
    exec(source, namespace)  # noqa: S102 - source built above from type names and generated identifiers only
    return namespace["encode"]


def dumps(document: Any) -> str:
    """The MTP file text: exactly ``json.dumps(document, indent=4, ensure_ascii=False, allow_nan=False)``.

    Key order is the document's own insertion order: the writers build every
    object in its final order, so the same protocol always gives the same text.
    A :class:`LazyList` is written as the array of its items.
    """
    writer = _Writer()
    writer.write(document)
    return "".join(writer.parts)


def dump(document: Any, write: Callable[[str], Any]) -> None:
    """Stream the text of :func:`dumps` to ``write`` in chunks (bounded memory for huge documents)."""

    def flush(parts: list[str]) -> None:
        write("".join(parts))
        parts.clear()

    writer = _Writer(flush)
    writer.write(document)
    flush(writer.parts)
