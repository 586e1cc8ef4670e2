"""The fast JSON writer gives exactly the bytes of json.dumps(doc, indent=4, ensure_ascii=False)."""

from __future__ import annotations

import enum
import json
import math
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_train_protocol.jsonio import LazyList, dump, dumps, write_atomic, write_json_atomic


def reference(doc):
    return json.dumps(doc, indent=4, ensure_ascii=False, allow_nan=False)


def materialize(doc):
    """The document with every LazyList replaced by the list of its items."""
    if isinstance(doc, LazyList):
        return [materialize(x) for x in doc]
    if isinstance(doc, dict):
        return {k: materialize(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [materialize(x) for x in doc]
    return doc


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "é中🗣", 'quote " back \\ slash', "tab\tnl\ncr\r", "\x00\x1f\u2028\u2029", "[1, 2]", '{"a": 1}', ",\n    "]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
keys = texts | st.integers(-5, 5) | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False)


def documents():
    return st.recursive(
        scalars | st.just([]) | st.just({}),
        lambda inner: st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=5),
        max_leaves=40,
    )


@settings(max_examples=600, deadline=None)
@given(documents())
def test_dumps_equals_json_dumps(doc):
    assert dumps(doc) == reference(doc)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_dump_streams_the_same_text(doc):
    chunks: list[str] = []
    dump(doc, chunks.append)
    assert "".join(chunks) == reference(doc)


@settings(max_examples=200, deadline=None)
@given(st.lists(documents(), max_size=6), documents())
def test_lazy_list_is_written_as_its_items(items, other):
    doc = {"before": other, "lazy": LazyList(lambda: iter(items), len(items)), "after": [items]}
    assert dumps(doc) == reference(materialize(doc))


def test_model_file_shapes():
    """The shapes of a model file: samples with nested empty lists, None, sorted token maps."""
    sample = {
        "number_lists": [[], [[1, 2, 3]], []],
        "numbers": [[], [4], []],
        "prompt": None,
        "result": "Agree_",
        "strings": ["a b c", "ünïcödé 🗣 \"quoted\"", "x"],
        "value": 2.5,
    }
    doc = {"$schema": "https://x", "valid": True, "sets": [{"samples": [sample] * 3, "ppo": [], "guardrails": [{}]}]}
    assert dumps(doc) == reference(doc)


def test_large_lazy_list_is_flushed_in_chunks():
    items = [{"strings": [f"s{i}", "t"], "value": None} for i in range(20000)]
    doc = {"samples": LazyList(lambda: iter(items), len(items))}
    chunks: list[str] = []
    dump(doc, chunks.append)
    assert len(chunks) > 1
    assert "".join(chunks) == reference({"samples": items})


def test_subclasses_are_written_like_json_dumps():
    class Colour(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    doc = OrderedDict([("a", Colour.RED), (Name("k"), [Name("v"), 1.0, -0.0, 1e300]), ("t", (1, (2, 3)))])
    assert dumps(doc) == reference(doc)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused(bad):
    with pytest.raises(ValueError):
        dumps({"x": [bad]})
    with pytest.raises(ValueError):
        dumps({"x": [[bad], [1]]})


def test_unserializable_objects_and_keys_raise_type_error():
    with pytest.raises(TypeError):
        dumps({"x": [object(), [1]]})
    with pytest.raises(TypeError):
        dumps({(1, 2): [1, [2]]})


def test_circular_reference_is_refused():
    loop: list = [[1]]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        dumps(loop)


def test_write_json_atomic_writes_the_same_bytes(tmp_path):
    doc = {"name": "é", "items": LazyList(lambda: iter([[1, [2]], {"a": None}]), 2)}
    target = tmp_path / "sub" / "f.json"
    write_json_atomic(target, doc)
    assert target.read_bytes() == reference(materialize(doc)).encode("utf-8")
    write_atomic(target, "x")
    assert target.read_text(encoding="utf-8") == "x"


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "f.json"
    write_atomic(target, "old")
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": [1, [object()]]})
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


@settings(max_examples=300, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=8), st.integers(min_value=1, max_value=4))
def test_compiled_shapes_equal_json_dumps(items, repeat):
    """Long lists go through generated shape encoders: mixed, nested and repeated shapes stay exact."""
    from model_train_protocol.jsonio import _encoders

    long_list = items * repeat * 20  # well past the compile threshold, shapes repeat and alternate
    assert len(long_list) >= _encoders._COMPILE_FROM or repeat * len(items) * 20 < _encoders._COMPILE_FROM
    doc = {"samples": long_list, "lazy": LazyList(lambda: iter(long_list), len(long_list))}
    assert dumps(doc) == reference(materialize(doc))


def test_more_shapes_than_the_budget_fall_back_to_the_generic_walk():
    items = [{f"k{i % 13}": [i, {"x": [None] * (i % 5)}]} for i in range(300)]
    assert dumps(items) == reference(items)


def test_compiled_shapes_still_detect_cycles():
    loop: list = []
    items = [{"a": [1, [2]]} for _ in range(100)] + [{"a": [1, loop]}]
    loop.append(items)
    with pytest.raises(ValueError, match="Circular"):
        dumps(items)
