"""Our own JSON Schemas (schemas/v0) and the lookup by ``$schema``."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

import model_train_protocol as mtp
from core_helpers import SHARED_DATA, reference_schema_errors, small_protocol, tiny_protocol
from model_train_protocol.formats import SchemaProblem, load_schema, schema_for, schema_problems
from model_train_protocol.errors import json_pointer
from model_train_protocol.rules import parse_schema_url

BLOOM = "https://mtp.schemas.databiomes.com/v0/bloom_0_3_2.json"
TEMPLATE = "https://mtp.schemas.databiomes.com/v0/template_0_3_2.json"


@pytest.fixture(scope="module")
def model() -> dict:
    return tiny_protocol(False).to_json()


@pytest.fixture(scope="module")
def template() -> dict:
    return small_protocol().template_json()


@pytest.mark.parametrize("kind, url", [("bloom", BLOOM), ("template", TEMPLATE)])
def test_shipped_schemas_are_valid_draft_2020_12_with_our_ids(kind, url):
    schema = load_schema(kind, "0.3.2")
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == url  # the template's own id (the reference's says bloom)


def test_lookup_by_schema_url(model, template):
    assert schema_for(model)["$id"] == BLOOM
    assert schema_for(template)["$id"] == TEMPLATE
    assert parse_schema_url("https://mtp.schemas.databiomes.com/v2/template_2_1_0.json") == ("template", "2.1.0")


@pytest.mark.parametrize("document, fragment", [
    ({}, "no $schema"),
    ({"$schema": None}, "not an MTP schema URL"),
    ({"$schema": "https://example.com/v0/bloom_0_3_2.json"}, "not an MTP schema URL"),
    ({"$schema": "https://mtp.schemas.databiomes.com/v0/bloom_9_9_9.json"}, "does not belong"),
    ({"$schema": "https://mtp.schemas.databiomes.com/v9/bloom_9_9_9.json"}, "No schema for bloom 9.9.9"),
    ({"$schema": "https://mtp.schemas.databiomes.com/v0/model_0_3_2.json"}, "No schema for model 0.3.2"),
])
def test_missing_or_unknown_schema_is_a_file_error(document, fragment):
    with pytest.raises(mtp.MTPFileError) as info:
        schema_problems(document)
    assert fragment in str(info.value)
    assert info.value.pointer == "/$schema"


def test_a_non_object_is_a_file_error():
    with pytest.raises(mtp.MTPFileError):
        schema_problems(["not", "a", "document"])


def test_valid_documents_have_no_problems(model, template):
    assert schema_problems(model) == []
    assert schema_problems(template) == []


def _mutated(document: dict, change) -> dict:
    clone = copy.deepcopy(document)
    change(clone)
    return clone


# Each mutation is something our writer never produces. The last column says whether the reference
# schema (looser) accepts it too, which shows where ours is stricter.
MODEL_MUTATIONS = [
    ("extra top-level key", lambda d: d.update(extra=1), "", True),
    ("user false", lambda d: d["tokens"]["Alice_"].update(user=False), "/tokens/Alice_/user", True),
    ("extra token key", lambda d: d["tokens"]["Cat_"].update(colour="red"), "/tokens/Cat_", True),
    ("num on a plain token", lambda d: d["tokens"]["Cat_"].update(num=True), "/tokens/Cat_", True),
    ("special token changed", lambda d: d["tokens"]["<BOS>"].update(key="<S>"), "/tokens/<BOS>", True),
    ("float snippet number", lambda d: d["instruction"]["sets"][0]["samples"][0]["numbers"][1].__setitem__(0, 2.5),
     "/instruction/sets/0/samples/0/numbers/1/0", False),
    ("extra sample key", lambda d: d["instruction"]["sets"][0]["samples"][0].update(weight=1),
     "/instruction/sets/0/samples/0", True),
    ("missing sample value", lambda d: d["instruction"]["sets"][0]["samples"][0].pop("value"),
     "/instruction/sets/0/samples/0", True),
    ("digit in a bad example", lambda d: d["instruction"]["sets"][0]["guardrails"][0]["bad_examples"].append("top 10"),
     "/instruction/sets/0/guardrails/0/bad_examples/3", True),
    ("duplicate token in a set row", lambda d: d["instruction"]["sets"][0]["set"][0].append("Cat_"),
     "/instruction/sets/0/set/0", True),
    ("valid false", lambda d: d.update(valid=False), "/valid", True),
    ("string too long", lambda d: d["context"].__setitem__(0, "x" * 301), "/context/0", False),
]


@pytest.mark.parametrize("label, change, pointer, reference_accepts", MODEL_MUTATIONS, ids=[m[0] for m in MODEL_MUTATIONS])
def test_model_schema_rejects(model, label, change, pointer, reference_accepts):
    document = _mutated(model, change)
    problems = schema_problems(document)
    assert problems, label
    assert pointer in [p.pointer for p in problems]
    assert all(isinstance(p, SchemaProblem) and p.message for p in problems)
    theirs = reference_schema_errors(document)
    if theirs is not None:
        assert (theirs == []) == reference_accepts


TEMPLATE_MUTATIONS = [
    ("input line without its newline", lambda d: d["instructions"]["basic"]["input"].__setitem__(1, "Cat_Talk_\n<string>"),
     "/instructions/basic/input/1"),
    ("no <BOS> first", lambda d: d["instructions"]["basic"]["input"].pop(0), "/instructions/basic/input"),
    ("no <RUN>", lambda d: d["instructions"]["basic"]["input"].pop(), "/instructions/basic/input"),
    ("prompt line in a basic instruction",
     lambda d: d["instructions"]["basic"]["input"].__setitem__(3, "Cat_Talk_<string>\n\n"), "/instructions/basic/input"),
    ("output without <EOS>", lambda d: d["instructions"]["extended"]["output"].__setitem__(0, "<string>\nYes_\n"),
     "/instructions/extended/output/0"),
    ("unknown instruction type", lambda d: d["instructions"]["basic"].update(type="state_machine"),
     "/instructions/basic/type"),
    ("space in a rendered TokenSet", lambda d: d["tokens"]["input"].update({"Cat_Talk_": "Cat_ Talk_"}),
     "/tokens/input/Cat_Talk_"),
    ("extra example key", lambda d: d["example_usage"].update(more=""), "/example_usage"),
]


@pytest.mark.parametrize("label, change, pointer", TEMPLATE_MUTATIONS, ids=[m[0] for m in TEMPLATE_MUTATIONS])
def test_template_schema_rejects(template, label, change, pointer):
    problems = schema_problems(_mutated(template, change))
    assert pointer in [p.pointer for p in problems], [str(p) for p in problems]


def test_problems_are_sorted_and_deterministic(model):
    def change(d):
        d["instruction"]["sets"][0]["samples"][2]["numbers"][1][0] = 0.5
        d["instruction"]["sets"][0]["samples"][0]["numbers"][1][0] = "x"
        d["tokens"]["Cat_"]["extra"] = 1
        d["name"] = ""
    document = _mutated(model, change)
    first = schema_problems(document)
    assert first == schema_problems(copy.deepcopy(document))
    pointers = [p.pointer for p in first]
    assert pointers == ["/instruction/sets/0/samples/0/numbers/1/0", "/instruction/sets/0/samples/2/numbers/1/0",
                        "/name", "/tokens/Cat_"]
    assert str(first[2]).startswith("/name: ")


def test_json_pointer_escapes_and_numeric_order():
    assert json_pointer(["tokens", "a/b~c", 3]) == "/tokens/a~1b~0c/3"
    assert json_pointer([]) == ""


def test_reference_files_of_0_3_2_pass_our_schemas():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/reference/data is not available")
    for path in sorted((SHARED_DATA / "generated" / "v0.3.2").glob("*.json")):
        problems = schema_problems(json.loads(path.read_text(encoding="utf-8")))
        assert problems == [], (path.name, [str(p) for p in problems])


# --- the fast validator (jsonschema-rs) and the fallback (jsonschema) --------------------------------------------

def _broken_documents(model: dict) -> list[dict]:
    """Model documents with one schema violation each, in different places and of different keywords."""
    edits = [
        lambda d: d.update(inputs="two"),
        lambda d: d.pop("tokens"),
        lambda d: d.update(extra=1),
        lambda d: d["instruction"]["sets"][0]["samples"][0].update(result=5),
        lambda d: d["instruction"]["sets"][0]["samples"][0]["strings"].append(7),
        lambda d: d["instruction"]["sets"][0].update(ppo="x"),
        lambda d: d.update(context=[1, 2]),
        lambda d: d["instruction"]["sets"][0]["samples"][0].pop("strings"),
    ]
    documents = []
    for edit in edits:
        document = copy.deepcopy(model)
        edit(document)
        documents.append(document)
    return documents


def test_both_validators_report_the_same_pointers_and_keywords(model):
    pytest.importorskip("jsonschema_rs")
    for document in _broken_documents(model):
        fast = schema_problems(document, backend="jsonschema-rs")
        slow = schema_problems(document, backend="jsonschema")
        assert fast, document
        assert {(p.pointer, p.keyword) for p in fast} == {(p.pointer, p.keyword) for p in slow}
        assert all(p.message for p in fast)


def test_whole_files_are_checked_with_the_fast_validator(model, tmp_path, monkeypatch):
    """A violation past the old 1,000-sample cap is found; the fallback keeps the cap unless asked for all."""
    pytest.importorskip("jsonschema_rs")
    from model_train_protocol.formats import _filecheck as filecheck, _schemas as schemas

    document = copy.deepcopy(model)
    samples = document["instruction"]["sets"][0]["samples"]
    document["instruction"]["sets"][0]["samples"] = [copy.deepcopy(samples[0]) for _ in range(1500)]
    document["instruction"]["sets"][0]["samples"][1400]["bogus"] = 1  # only the schema forbids it
    path = tmp_path / "big_model.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    pointer = "/instruction/sets/0/samples/1400"

    result = filecheck.check_file(path)
    assert result.schema_samples_skipped == 0
    assert pointer in {p.pointer for p in result.problems if p.rule == "schema"}

    monkeypatch.setattr(schemas, "_rust", None)
    schemas._validator.cache_clear()
    try:
        capped = filecheck.check_file(path)
        assert capped.schema_samples_skipped == 500
        assert pointer not in {p.pointer for p in capped.problems if p.rule == "schema"}
        full = filecheck.check_file(path, full_schema=True)
        assert pointer in {p.pointer for p in full.problems if p.rule == "schema"}
    finally:
        schemas._validator.cache_clear()
