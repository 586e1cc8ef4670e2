"""Protocol.load / Protocol.from_json: every supported version, every feature, clear errors."""

from __future__ import annotations

import copy
import json

import pytest

import model_train_protocol as mtp
from model_train_protocol.formats import file_version
from reader_helpers import CHOICE, LOADABLE, REFERENCE, REFUSED, load, read


def instruction(protocol: mtp.Protocol, name: str):
    return next(i for i in protocol.instructions if i.name == name)


@pytest.mark.parametrize("rel", LOADABLE + CHOICE)
def test_every_supported_fixture_loads(rel):
    protocol = load(rel)
    doc = read(rel)
    assert protocol.name == doc["name"]
    assert protocol.inputs == doc["inputs"]
    assert protocol.encrypt is doc["encrypted"]
    assert protocol.context == doc["context"]
    assert len(protocol.instructions) == len(doc["instruction"]["sets"])
    assert sum(len(i.samples) for i in protocol.instructions) == sum(
        len(s["samples"]) for s in doc["instruction"]["sets"]
    )


@pytest.mark.parametrize("rel, word", sorted(REFUSED.items()))
def test_unsupported_files_are_refused_with_the_reason(rel, word):
    with pytest.raises(mtp.MTPFileError) as info:
        load(rel)
    assert word in str(info.value)
    assert str(REFERENCE / rel) in str(info.value)


def test_bad_model_types_name_the_pointer():
    doc = read("v1.2.8/mc_model.json")
    doc["model_type"] = "regression"
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert info.value.pointer == "/model_type" and "generative, state_machine, multi_classifier" in str(info.value)
    doc = read("v0.8.8/sm_model.json")
    doc["state_machine"] = "yes"
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert info.value.pointer == "/state_machine"


def test_versions_are_recognised():
    assert file_version(read("v0.3.2/tiny_model.json")) == "0.3.2"
    assert file_version(read("v0.3.2/example_model.json")) == "0.3.1"
    assert file_version(read("v0.4.7/tiny_model.json")) == "1.1.0"
    assert file_version(read("v0.8.8/tiny_model.json")) == "1.2.0"
    assert file_version(read("schemas-3.2.3/bloom_1_2_1.json")) == "1.2.1"
    assert file_version(read("v1.2.8/tiny_version_2_0_0_model.json")) == "2.0.0"
    assert file_version(read("v1.2.8/tiny_model.json")) == "2.0.1"


def test_bloom_0_3_0_top_level_version_field():
    doc = read("v0.3.2/tiny_model.json")
    del doc["$schema"]
    doc["version"] = "0.3.0"
    assert file_version(doc) == "0.3.0"
    assert mtp.Protocol.from_json(doc).to_json() == mtp.Protocol.from_json(read("v0.3.2/tiny_model.json")).to_json()


def test_tiny_tokens_keys_and_user_token():
    protocol = load("v0.3.2/tiny_model.json")
    chat = protocol.instructions[0]
    cat_talk, alice_talk = chat.context
    assert [type(t).__name__ for t in alice_talk.tokens] == ["ImpliedUserToken", "Token", "NumToken"]
    assert isinstance(alice_talk.tokens[0], mtp.UserToken)  # a UserToken the file does not mark
    assert [type(t).__name__ for t in cat_talk.tokens] == ["Token", "Token"]
    alice, talk, mood = alice_talk.tokens
    assert alice.desc == "A curious girl" and alice.key is None
    assert talk.key == "🗣"
    assert (mood.min_value, mood.max_value) == (0, 9)
    assert chat.response is cat_talk
    assert alice_talk.guardrail is None and list(chat.input_guardrails) == [1]  # this instruction's line only
    assert chat.input_guardrails[1].samples == ["explain physics", "tell a joke", "capital of Spain"]
    assert chat.background == ["Ctx one.", "Ctx two."]
    assert [s.inputs[1].numbers for s in chat.samples] == [(3,), (5,), (7,)]
    assert chat.name == "chat"  # bloom 0.3.2 stores no names: taken from tiny_template.json beside the file


def test_encrypted_hash_keys_need_no_custom_key():
    protocol = load("v0.3.2/tiny_encrypted_model.json")
    tokens = {t.value: t for ts in protocol.instructions[0].rows for t in ts.tokens}
    assert tokens["Cat_"].key is None and tokens["Alice_"].key is None
    assert tokens["Talk_"].key == "🗣"
    keys = protocol.key_map()
    assert keys(tokens["Cat_"]) == "50f7dd"


def test_numeric_file_finals_values_lists_and_custom_keys():
    protocol = load("v1.2.8/numeric_model.json")
    chat = protocol.instructions[0]
    assert chat.name == "numeric_chat"
    finals = {t.value: t for t in chat.finals}
    assert set(finals) == {"Madness_", "Vanish_"}
    assert isinstance(finals["Madness_"], mtp.NumToken)
    assert type(finals["Vanish_"]) is mtp.Token and finals["Vanish_"].desc
    assert sorted(s.value for s in chat.samples if s.final.value == "Madness_") == [3, 7, 10]
    coords = chat.context[0].tokens[2]
    assert isinstance(coords, mtp.NumListToken) and coords.length == 3
    assert all(len(s.inputs[0].number_lists[0]) == 3 for s in chat.samples)
    cat = chat.context[0].tokens[1]
    assert cat.key == "🐱"
    assert chat.context[0].tokens[0].key is None  # hashed


def test_extended_instruction_survives():
    protocol = load("v1.2.8/extended_plus_basic_model.json")
    ext = instruction(protocol, "ext_leave")
    assert isinstance(ext, mtp.ExtendedInstruction)
    assert isinstance(instruction(protocol, "basic"), mtp.Instruction)
    assert [s.prompt.string for s in ext.samples] == ["prompt0", "prompt1", "prompt2"]
    assert [s.output for s in ext.samples] == ["resp0", "resp1", "resp2"]
    assert [(s.inputs[1].numbers, s.inputs[2].numbers) for s in ext.samples] == [((1,), (2,))] * 3
    assert ext.prompt_set.has_user
    assert ext.input_guardrails[ext.prompt_index].bad_output == "Nope."
    assert ext.background == ["Ext ctx."]
    assert protocol.validate() == []


def test_names_are_kept_or_generated_stably():
    assert [i.name for i in load("schemas-3.2.3/bloom_1_2_1.json").instructions] == [
        "alice_cat_alice_instruction_numeric",
        "alice_cat_alice_appear_disappear",
        "alice_cat_alice_continue",
    ]
    doc = read("v1.2.8/extended_plus_basic_model.json")
    doc["instruction"]["sets"][0]["name"] = None
    doc["instruction"]["sets"][1]["name"] = "instruction_0"
    assert [i.name for i in mtp.Protocol.from_json(doc).instructions] == ["instruction_0_2", "instruction_0"]


def test_special_token_look_alikes_round_trip():
    """`Running`, `Padding`, `Unknown` contain special-token names; the substring rule ignores special tokens."""
    doc = read("v0.3.2/tiny_model.json")
    text = json.dumps(doc, ensure_ascii=False)
    for old, new in (("Cat_", "Running_"), ("Alice_", "Padding_"), ("Done_", "Unknown_")):
        text = text.replace(f'"{old}', f'"{new}')
    doc = json.loads(text)
    protocol = mtp.Protocol.from_json(doc)
    assert protocol.validate() == []
    again = mtp.Protocol.from_json(protocol.to_json())
    assert again.to_json() == protocol.to_json()
    assert "Running_" in protocol.to_json()["tokens"]


def test_final_types_become_plain_tokens_used_as_finals():
    protocol = load("v0.3.2/tiny_model.json")
    done = protocol.instructions[0].finals[0]
    assert type(done) is mtp.Token and done.value == "Done_"
    assert protocol.to_json()["tokens"]["Done_"]["type"] == "FinalToken"


def test_guardrail_digits_from_newer_files_are_kept_and_checked_per_version():
    doc = read("v1.2.8/tiny_model.json")
    doc["instruction"]["sets"][0]["guardrails"][0]["bad_examples"][0] = "what is 2 plus 2"
    protocol = mtp.Protocol.from_json(doc)
    assert protocol.validate("2.0.1") == []
    assert [p.rule for p in protocol.validate("0.3.2")] == ["guardrail.digits"]
    old = read("v0.3.2/tiny_model.json")
    old["instruction"]["sets"][0]["guardrails"][0]["bad_examples"][0] = "what is 2 plus 2"
    loaded = mtp.Protocol.from_json(old)  # kept as written; the 0.3.2 rule is a validation problem
    assert loaded.instructions[0].input_guardrails[1].samples[0] == "what is 2 plus 2"
    assert [p.rule for p in loaded.validate("0.3.2")] == ["guardrail.digits"]


def test_user_flag_of_our_own_files_is_respected():
    doc = read("v0.3.2/tiny_model.json")
    doc["tokens"]["Talk_"]["user"] = True  # the user picked Talk, not Alice; Talk is in the response too
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert "UserToken" in str(info.value)
    assert info.value.pointer == "/instruction/sets/0"


def test_guarded_line_without_a_possible_user_token_is_an_error():
    doc = read("v0.3.2/tiny_model.json")
    doc["instruction"]["sets"][0]["guardrails"][0]["index"] = 0  # (Cat, Talk): both in the response line
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert info.value.pointer == "/instruction/sets/0/set/0"
    assert "needs a UserToken" in str(info.value)


# --- errors ----------------------------------------------------------------------------------


def broken(mutate) -> mtp.MTPFileError:
    doc = read("v0.3.2/tiny_model.json")
    mutate(doc)
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc, source="tiny_model.json")
    return info.value


@pytest.mark.parametrize(
    "mutate, pointer, words",
    [
        (lambda d: d.pop("$schema"), "", "no '$schema'"),
        (lambda d: d.update({"$schema": 3}), "/$schema", "must be a string"),
        (lambda d: d.update({"$schema": "https://mtp.schemas.databiomes.com/v0/bloom_0_2_0.json"}), "/$schema",
         "not supported"),
        (lambda d: d.update({"$schema": "https://example.com/whatever.json"}), "/$schema", "unknown '$schema'"),
        (lambda d: d.pop("name"), "", "missing required field 'name'"),
        (lambda d: d.update({"inputs": "2"}), "/inputs", "must be an integer"),
        (lambda d: d.update({"inputs": True}), "/inputs", "must be an integer"),
        (lambda d: d.update({"inputs": 3}), "/instruction/sets/0", "inputs=3"),
        (lambda d: d.update({"encrypted": "no"}), "/encrypted", "must be a boolean"),
        (lambda d: d["context"].append(7), "/context/10", "must be strings"),
        (lambda d: d["tokens"].pop("Cat_"), "/instruction/sets/0/set/0/0", "not declared"),
        (lambda d: d["tokens"]["Mood_"].update({"min_value": "0"}), "/tokens/Mood_/min_value", "must be"),
        (lambda d: d["tokens"]["Mood_"].update({"min_value": 10}), "/tokens/Mood_", "min_value"),
        (lambda d: d["tokens"]["Cat_"].update({"type": "Cat"}), "/tokens/Cat_/type", "unknown token type"),
        (lambda d: d["tokens"]["Cat_"].update({"key": "a b"}), "/tokens/Cat_", "Invalid character"),
        (lambda d: d["tokens"].update({"Bad": d["tokens"]["Cat_"]}), "/tokens/Bad", "followed by '_'"),
        (lambda d: d["instruction"].update({"sets": {}}), "/instruction/sets", "must be an array"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"strings": ["a"]}),
         "/instruction/sets/0/samples/1/strings", "3 row(s)"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"numbers": [[], [], []]}),
         "/instruction/sets/0/samples/1/numbers/1", "needs 1 number"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"numbers": [[], [42], []]}),
         "/instruction/sets/0/samples/1/numbers/1", "out of range"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"numbers": [[], [2.5], []]}),
         "/instruction/sets/0/samples/1/numbers/1", "float"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"result": "Nope_"}),
         "/instruction/sets/0/samples/1/result", "not declared"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"value": 3}),
         "/instruction/sets/0/samples/1", "not a NumToken"),
        (lambda d: d["instruction"]["sets"][0]["samples"][1].update({"prompt": "hi"}),
         "/instruction/sets/0/samples/0/prompt", "mixes samples"),
        (lambda d: d["instruction"]["sets"][0]["guardrails"][0].update({"index": 5}),
         "/instruction/sets/0/guardrails/0/index", "out of range"),
        (lambda d: d["instruction"]["sets"][0]["guardrails"][0].pop("bad_output"),
         "/instruction/sets/0/guardrails/0", "'bad_output'"),
        (lambda d: d["instruction"]["sets"][0].update({"set": [["Cat_", "Cat_"], ["Alice_"], ["Talk_"]]}),
         "/instruction/sets/0/set/0", "appears twice"),
        (lambda d: d["instruction"]["sets"][0]["set"].__setitem__(0, ["<RUN>"]),
         "/instruction/sets/0/set/0/0", "special token"),
        (lambda d: d["instruction"]["sets"][0].update({"name": ""}), "/instruction/sets/0", "name"),
        (lambda d: d["instruction"]["sets"].append(copy.deepcopy(d["instruction"]["sets"][0]) | {"name": "x"})
         or d["instruction"]["sets"][0].update({"name": "x"}), "/instruction/sets/1", "already exists"),
    ],
)
def test_errors_name_the_json_pointer(mutate, pointer, words):
    error = broken(mutate)
    assert error.pointer == pointer
    assert words in str(error)
    assert error.path == "tiny_model.json"
    if pointer:
        assert f"(at {pointer})" in str(error)
    else:  # a whole-file problem names no pointer, not "(at /)"
        assert "(at" not in str(error)


@pytest.mark.parametrize("document", [[], "text", 3, None, {}, {"name": "x"}])
def test_not_a_model_file(document):
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(document)
    assert "not an MTP model file" in str(info.value)


def test_load_errors(tmp_path):
    text = (REFERENCE / "v0.3.2/tiny_model.json").read_text(encoding="utf-8")
    cases = {
        "missing.json": None,
        "truncated.json": text[: len(text) // 2],
        "garbage.json": "this is not json",
        "binary.json": b"\xff\xfe\x00bad",
        "nan.json": text.replace('"inputs": 2', '"inputs": NaN'),
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "empty.json": "",
    }
    words = {"missing.json": "cannot read", "truncated.json": "truncated", "garbage.json": "not valid JSON",
             "binary.json": "UTF-8", "nan.json": "NaN", "deep.json": "", "empty.json": "truncated"}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
        with pytest.raises(mtp.MTPFileError) as info:
            mtp.Protocol.load(path)
        assert words[name] in str(info.value), name
        assert info.value.path == str(path)


def test_load_accepts_a_utf8_bom(tmp_path):
    path = tmp_path / "bom_model.json"
    path.write_bytes(b"\xef\xbb\xbf" + (REFERENCE / "v0.3.2/tiny_model.json").read_bytes())
    assert mtp.Protocol.load(path).name == "tiny"


def test_from_json_does_not_modify_the_document():
    doc = read("v1.2.8/extended_plus_basic_model.json")
    before = copy.deepcopy(doc)
    mtp.Protocol.from_json(doc)
    assert doc == before
