"""File checks behind ``mtp validate``: every problem with a pointer or rule, and a hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.formats import check_document, check_file, file_kind


@pytest.fixture(scope="module")
def documents() -> tuple[dict, dict]:
    protocol = build_protocol()
    return protocol.to_json(), protocol.template_json()


def test_our_files_are_valid(documents: tuple[dict, dict], tmp_path: Path) -> None:
    model, template = documents
    for document, kind in ((model, "model"), (template, "template")):
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        result = check_file(path)
        assert (result.valid, result.kind, result.version, result.schema_checked) == (True, kind, "0.3.2", True)


def test_rule_problems_point_into_the_file(documents: tuple[dict, dict]) -> None:
    model = json.loads(json.dumps(documents[0]))
    model["context"] = model["context"][:1]
    model["instruction"]["sets"][2]["context"].append("x" * 301)
    model["instruction"]["sets"][1]["samples"][4]["strings"][0] = "y" * 301
    result = check_document(model)
    pointers = {(p.rule, p.pointer) for p in result.problems}
    assert ("protocol.context-lines", "/context") in pointers
    assert ("context.too-long", "/instruction/sets/2/context/2") in pointers
    assert ("string.too-long", "/instruction/sets/1/samples/4") in pointers
    assert all(p.hint for p in result.problems)
    assert ("schema", "/instruction/sets/2/context/2") in pointers  # the schema says it too


def test_kinds() -> None:
    assert file_kind({"$schema": "https://mtp.schemas.databiomes.com/v1/bloom_1_2_1.json"}) == ("model", "1.2.1")
    assert file_kind({"$schema": "https://mtp.schemas.databiomes.com/v2/template_2_1_0.json"}) == ("template", "2.1.0")
    assert file_kind({"instructions": {}, "example_usage": {}}) == ("template", None)
    assert file_kind([1]) == ("unknown", None)
    assert [p.rule for p in check_document({"x": 1}).problems] == ["file.kind"]


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bin_model.json"
    path.write_bytes(b"\xff\xfe\x00")
    (problem,) = check_file(path).problems
    assert problem.rule == "file.json" and problem.pointer == "" and problem.hint


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents_never_crash(documents: tuple[dict, dict], data: st.DataObject) -> None:
    """Replace one value anywhere in a real file: check_document reports problems, it never raises."""
    document = json.loads(json.dumps(documents[data.draw(st.integers(0, 1))]))
    parent, key = None, None
    node = document
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
    value = data.draw(st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
    if parent is None:
        document = value
    else:
        parent[key] = value
    result = check_document(document)
    assert all(p.message and p.hint for p in result.problems)


@pytest.mark.parametrize("url", [
    "http://evil.example/x/v0/bloom_0_3_2.json",
    "https://evil.example/v0/bloom_0_3_2.json",
    "https://mtp.schemas.databiomes.com.evil.example/v0/bloom_0_3_2.json",
    "http://mtp.schemas.databiomes.com/v0/bloom_0_3_2.json",
])
def test_a_model_file_naming_a_foreign_schema_is_not_valid(documents: tuple[dict, dict], url: str) -> None:
    """The model file and the template file get one $schema policy: an unknown host is a problem."""
    for document in documents:
        changed = {**document, "$schema": url}
        result = check_document(changed)
        assert not result.valid
        assert [p.pointer for p in result.problems] == ["/$schema"]
