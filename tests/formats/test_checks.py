"""The reader's field checks and the shipped JSON Schemas refuse the same wrong types at the same pointer,
each in its own words (formats/checks.py says why the reader keeps its own)."""

from __future__ import annotations

import copy

import pytest

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.formats import model_document, schema_problems


@pytest.fixture(scope="module")
def document() -> dict:
    return model_document(build_protocol())


@pytest.mark.parametrize("field, wrong, words", [
    ("name", 3, "'name' must be a string, found an integer"),
    ("inputs", "2", "'inputs' must be an integer, found a string"),
    ("inputs", True, "'inputs' must be an integer, found a boolean"),
    ("encrypted", 1, "'encrypted' must be a boolean, found an integer"),
    ("context", {}, "'context' must be an array, found an object"),
])
def test_a_wrong_type_is_refused_by_both_at_its_pointer(document, field, wrong, words):
    broken = copy.deepcopy(document)
    broken[field] = wrong
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(broken)
    assert info.value.pointer == f"/{field}" and words in str(info.value)
    assert any(p.pointer == f"/{field}" and p.keyword == "type" for p in schema_problems(broken, backend="jsonschema"))


@pytest.mark.parametrize("field", ["name", "inputs", "encrypted", "tokens", "instruction"])
def test_a_missing_field_is_refused_by_both_at_the_document(document, field):
    broken = copy.deepcopy(document)
    del broken[field]
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(broken)
    assert info.value.pointer == "" and f"missing required field {field!r}" in str(info.value)
    assert any(p.pointer == "" and p.keyword == "required" and repr(field) in p.message
               for p in schema_problems(broken, backend="jsonschema"))
