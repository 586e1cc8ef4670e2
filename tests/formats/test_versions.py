"""save/template/to_json(version=...): the bloom 0.3.2, 1.2.1 and 2.0.1 layouts and their rules."""

from __future__ import annotations

import json

import pytest

import model_train_protocol as mtp
from core_helpers import assert_schema_valid, reference_schema_errors, small_protocol, tiny_protocol
from model_train_protocol.formats import schema_problems
from model_train_protocol.rules import BLOOM_1_2_1, format_version, parse_schema_url
from model_train_protocol.runtime import NUM_PLACEHOLDER
from reader_helpers import LOADABLE, REFERENCE, VERSIONS, load, normalized, read

MODEL_ORDER = {
    "0.3.2": ["$schema", "name", "inputs", "encrypted", "valid", "context", "tokens", "special_tokens", "instruction",
              "numbers", "batches"],
    "1.2.1": ["$schema", "name", "inputs", "state_machine", "encrypted", "valid", "context", "tokens",
              "special_tokens", "instruction"],
    "2.0.1": ["$schema", "name", "inputs", "model_type", "encrypted", "valid", "context", "tokens", "special_tokens",
              "instruction"],
}
TEMPLATE_ORDER = {
    "0.3.2": ["$schema", "encrypt", "tokens", "instructions", "example_usage"],
    "1.2.1": ["$schema", "encrypt", "state_machine", "inputs", "tokens", "instructions", "states", "example_usage"],
    "2.0.1": ["$schema", "encrypt", "model_type", "inputs", "tokens", "instructions", "states", "example_usage"],
}
URLS = {
    "0.3.2": ("v0/bloom_0_3_2.json", "v0/template_0_3_2.json"),
    "1.2.1": ("v1/bloom_1_2_1.json", "v1/template_1_2_0.json"),
    "2.0.1": ("v2/bloom_2_0_1.json", "v2/template_2_1_0.json"),
}


@pytest.mark.parametrize("text, expected", [
    (None, "0.3.2"), ("0.3.2", "0.3.2"), ("1.2.1", "1.2.1"), ("2.0.1", "2.0.1"), ("bloom-1.2.1", "1.2.1"),
    ("bloom_2_0_1", "2.0.1"), (" v2.0.1 ", "2.0.1"), (BLOOM_1_2_1, "1.2.1"),
])
def test_version_names(text, expected):
    assert format_version(text).bloom == expected


@pytest.mark.parametrize("text, expected", [("1.2.0", "1.2.1"), ("2.1.0", "2.0.1"), ("template-2.1.0", "2.0.1"),
                                            ("0.3.2", "0.3.2"), ("2.0.1", "2.0.1")])
def test_template_methods_accept_template_versions(text, expected):
    assert format_version(text, template=True).bloom == expected
    template = small_protocol().template_json(text)
    assert template["$schema"].endswith(URLS[expected][1])


@pytest.mark.parametrize("text", ["1.0.0", "0.3.1", "3.0.0", "latest", "", 2])
def test_unknown_versions_list_the_supported_ones(text):
    with pytest.raises(mtp.MTPError) as info:
        format_version(text)
    assert "0.3.2, 1.1.0, 1.2.0, 1.2.1, 2.0.0, 2.0.1" in str(info.value) or "must be a string" in str(info.value)


def test_unknown_version_in_save_is_an_mtp_error(tmp_path):
    with pytest.raises(mtp.MTPError):
        small_protocol().save(path=tmp_path, version="9.9.9")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_layouts(version):
    protocol = small_protocol()
    model, template = protocol.to_json(version), protocol.template_json(version)
    assert list(model) == MODEL_ORDER[version]
    assert list(template) == TEMPLATE_ORDER[version]
    assert model["$schema"].endswith(URLS[version][0]) and template["$schema"].endswith(URLS[version][1])
    sets = model["instruction"]["sets"]
    if version == "0.3.2":
        assert all("name" not in s for s in sets)
        assert list(sets[0]) == ["context", "guardrails", "ppo", "samples", "set"]
    else:
        assert [s["name"] for s in sets] == ["basic", "extended"]
        assert list(sets[0]) == ["context", "guardrails", "name", "ppo", "samples", "set"]
        assert template["inputs"] == 2 and template["states"] == []
    if version == "1.2.1":
        assert model["state_machine"] is False and template["state_machine"] is False
    if version == "2.0.1":
        assert model["model_type"] == template["model_type"] == "generative"


def test_guardrail_output_lines_per_version():
    protocol = small_protocol()
    old = protocol.template_json("0.3.2")
    new = protocol.template_json("2.0.1")
    assert old["instructions"]["basic"]["output"][-1] == "<string>\n<UNK>\n<EOS>"
    # one refusal line per declared final, {finalKey}<UNK>_
    assert new["instructions"]["basic"]["output"][-2:] == ["<string>\nYes_<UNK>_\n<EOS>",
                                                           "<string>\nScore_<UNK>_\n<EOS>"]
    assert new["example_usage"]["guardrail_model_output"] == "I only answer questions.\nYes_<UNK>_\n<EOS>"
    # every output line maps back through tokens.output
    outputs = new["tokens"]["output"]
    assert outputs["Yes_<UNK>_"] == "Yes_<UNK>_" and outputs["<UNK>"] == "<UNK>"
    for body in new["instructions"].values():
        for line in body["output"]:
            assert NUM_PLACEHOLDER.sub("", line.split("\n")[1]) in outputs.values()  # Score_<num_0_10> -> Score_


def test_encrypted_guardrail_keys():
    template = tiny_protocol(encrypt=True).template_json("1.2.1")
    assert template["instructions"]["chat"]["output"] == ["<string>\nf3c67c\n<EOS>", "<string>\nf3c67c<UNK>_\n<EOS>"]
    assert template["tokens"]["output"]["Done_<UNK>_"] == "f3c67c<UNK>_"


def test_tiny_matches_the_reference_files_of_each_layout():
    """Our writer gives the reference's files field for field (the user flag is ours; set order is stable)."""
    for version, rel in (("2.0.1", "v1.2.8/tiny_model.json"), ("1.2.1", "v0.8.8/tiny_model.json"),
                         ("0.3.2", "v0.3.2/tiny_model.json"), ("2.0.1", "v1.2.8/tiny_encrypted_model.json")):
        protocol = tiny_protocol(encrypt="encrypted" in rel)
        ours = protocol.to_json(version)
        theirs = read(rel)
        assert ours["tokens"]["Alice_"].pop("user") is True
        theirs["$schema"] = ours["$schema"]  # 0.8.8 labels its 1.2.1 layout bloom_1_2_0
        assert ours == theirs, rel


def test_validation_is_version_aware():
    protocol = small_protocol()
    basic = protocol.instructions[0]
    basic.add_sample(["x" * 301, basic.context[1].create_snippet("p", numbers=[1])], "o", final=basic.finals[0])
    rules = {v: {p.rule for p in protocol.validate(v)} for v in VERSIONS}
    assert rules == {"0.3.2": {"string.too-long"}, "1.2.1": {"string.too-long"}, "2.0.1": set()}
    assert protocol.to_json("2.0.1")["instruction"]["sets"][0]["samples"]
    with pytest.raises(mtp.MTPValidationError):
        protocol.to_json("1.2.1")


def test_one_input_and_many_instruction_context_lines():
    protocol = mtp.Protocol("one", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    q, a, done = mtp.Token("Question"), mtp.Token("Answer"), mtp.Token("Done")
    instruction = mtp.Instruction(context=[mtp.TokenSet(q)], response=mtp.TokenSet(a), final=done, name="qa")
    for i in range(11):
        instruction.add_context(f"Background {i}.")
    for i in range(3):
        instruction.add_sample([f"q{i}"], f"a{i}")
    protocol.add_instruction(instruction)
    assert {p.rule for p in protocol.validate()} == {"protocol.inputs", "instruction.context-lines"}
    assert protocol.validate("1.2.1") == [] and protocol.validate("2.0.1") == []
    for version in ("1.2.1", "2.0.1"):
        assert_schema_valid(protocol.to_json(version))
        assert_schema_valid(protocol.template_json(version))


@pytest.mark.parametrize("version", VERSIONS)
def test_save_and_template_write_the_version(tmp_path, version):
    protocol = small_protocol()
    model_path = protocol.save(path=tmp_path, version=version)
    template_path = protocol.template(path=tmp_path, version=version)
    model = json.loads(model_path.read_text(encoding="utf-8"))
    template = json.loads(template_path.read_text(encoding="utf-8"))
    assert model == protocol.to_json(version) and template == protocol.template_json(version)
    assert_schema_valid(model)
    assert_schema_valid(template)
    assert parse_schema_url(model["$schema"]) == ("bloom", version)


@pytest.mark.parametrize("rel", LOADABLE)
def test_every_fixture_resaves_schema_valid_in_every_version(rel):
    protocol = load(rel)
    for version in VERSIONS:
        assert protocol.validate(version) == [], (rel, version)
        model, template = protocol.to_json(version), protocol.template_json(version)
        assert schema_problems(model) == [] and schema_problems(template) == []
        if reference_schema_errors(model) is not None:
            assert reference_schema_errors(model) == [] and reference_schema_errors(template) == []


def test_reference_schemas_accept_our_files_of_every_version(shared_dir):
    """Explicitly against ../shared (the loop above also checks it when present)."""
    from jsonschema import Draft202012Validator

    protocol = small_protocol(encrypt=True)
    for version in VERSIONS:
        for doc in (protocol.to_json(version), protocol.template_json(version)):
            major, name = doc["$schema"].rsplit("/", 2)[-2:]
            schema = json.loads((shared_dir / "schemas" / major / name).read_text(encoding="utf-8"))
            assert list(Draft202012Validator(schema).iter_errors(doc)) == []


@pytest.mark.parametrize("version", ["1.2.1", "2.0.1"])
def test_our_schemas_are_stricter_than_needed_to_catch_mistakes(version):
    good = small_protocol().to_json(version)
    assert schema_problems(good) == []
    for mutate in (
        lambda d: d.pop("special_tokens"),
        lambda d: d.update({"numbers": {}}),
        lambda d: d["instruction"]["sets"][0].pop("name"),
        lambda d: d["instruction"]["sets"][0]["samples"][0]["numbers"].__setitem__(0, [1.5]),
        lambda d: d["tokens"]["Cat_"].update({"num": True}),
        lambda d: d["tokens"]["Cat_"].update({"user": True, "type": "FinalToken"}),
        lambda d: d.update({"model_type" if version == "2.0.1" else "state_machine": "state_machine"}),
    ):
        doc = json.loads(json.dumps(good))
        mutate(doc)
        assert schema_problems(doc), mutate
    template = small_protocol().template_json(version)
    template["instructions"]["basic"]["output"].append("no final line")
    assert schema_problems(template)


def test_string_limits_in_our_schemas():
    protocol = small_protocol()
    doc = protocol.to_json("2.0.1")
    doc["instruction"]["sets"][0]["samples"][0]["strings"][0] = "y" * 5000
    assert schema_problems(doc) == []
    doc = protocol.to_json("1.2.1")
    doc["instruction"]["sets"][0]["samples"][0]["strings"][0] = "y" * 301
    assert schema_problems(doc)


def test_converting_a_reference_file_keeps_its_content():
    """bloom 2.0.1 of a 0.3.2 file = the same data with the newer labels (and the documented changes)."""
    protocol = load("v0.3.2/tiny_model.json")
    converted = protocol.to_json("2.0.1")
    assert normalized(converted) == normalized(read("v0.3.2/tiny_model.json"))
    assert converted["instruction"]["sets"][0]["name"] == "chat"  # from the template beside the 0.3.2 file
    assert (REFERENCE / "v0.3.2/tiny_model.json").is_file()


def test_guardrail_line_of_a_non_final():
    """The reference writes "<NON>_<UNK>_" for the special final <NON> (FORMAT.md 3.4); we do too, and reload it."""
    protocol = mtp.Protocol("n", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    ask = mtp.TokenSet(mtp.UserToken("Ask"))
    guardrail = mtp.Guardrail("a question", "anything else", "No.")
    for example in ("sing", "dance", "jump"):
        guardrail.add_sample(example)
    ask.set_guardrail(guardrail)
    instruction = mtp.Instruction([ask], mtp.TokenSet(mtp.Token("Reply")), mtp.NON, name="qa")
    for i in range(3):
        instruction.add_sample([f"q{i}"], f"a{i}")
    protocol.add_instruction(instruction)
    template = protocol.template_json("2.0.1")
    assert template["instructions"]["qa"]["output"] == ["<string>\n<NON>\n<EOS>", "<string>\n<NON>_<UNK>_\n<EOS>"]
    assert template["tokens"]["output"]["<NON>_<UNK>_"] == "<NON>_<UNK>_"
    assert_schema_valid(template)
    again = mtp.Protocol.from_json(protocol.to_json("2.0.1"))
    assert again.instructions[0].finals == (mtp.NON,)
    assert again.template_json("2.0.1") == template


@pytest.mark.parametrize("encrypt", [False, True])
def test_numeric_final_output_lines_are_schema_valid_in_every_version(encrypt):
    """'<string>\\nScore_<num_0_10>\\n<EOS>' passes our schemas and, when ../shared is present, the reference's."""
    protocol = small_protocol(encrypt=encrypt)
    score = protocol.key_map()(protocol.instructions[0].finals[1])
    for version in VERSIONS:
        template = protocol.template_json(version)
        assert f"<string>\n{score}<num_0_10>\n<EOS>" in template["instructions"]["basic"]["output"], version
        assert_schema_valid(template)
