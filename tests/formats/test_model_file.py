"""The model file (bloom 0.3.2): the reference's layout field for field."""

from __future__ import annotations

import json

import pytest

import model_train_protocol as mtp
from core_helpers import REFERENCE_COPIES, assert_files_valid, small_protocol, tiny_protocol
from model_train_protocol.formats import model_document, token_type
from model_train_protocol.rules import schema_url

TOP_LEVEL = ["$schema", "name", "inputs", "encrypted", "valid", "context", "tokens", "special_tokens",
             "instruction", "numbers", "batches"]


@pytest.mark.parametrize("encrypt, stem", [(False, "tiny"), (True, "tiny_encrypted")])
def test_tiny_equals_the_reference_file_apart_from_the_user_flag(tmp_path, encrypt, stem):
    path = tiny_protocol(encrypt).save(name=stem, path=tmp_path)
    ours = path.read_text(encoding="utf-8")
    reference = (REFERENCE_COPIES / "v0.3.2" / f"{stem}_model.json").read_text(encoding="utf-8")
    # Alice is a UserToken in our API: its entry gains `"user": true`, nothing else changes.
    expected = reference.replace(
        '"special": null,\n            "type": "Token"\n        },\n        "Cat_"',
        '"special": null,\n            "type": "Token",\n            "user": true\n        },\n        "Cat_"',
    )
    assert expected != reference
    assert ours == expected
    assert_files_valid(path)


def test_encrypted_keys_are_the_reference_hashes():
    tokens = tiny_protocol(True).to_json()["tokens"]
    assert {v: tokens[v]["key"] for v in ("Alice_", "Cat_", "Done_", "Mood_", "Talk_")} == {
        "Alice_": "ac50a4", "Cat_": "50f7dd", "Done_": "f3c67c", "Mood_": "f95216", "Talk_": "🗣"}


def test_layout_of_a_protocol_with_every_feature():
    document = small_protocol().to_json()
    assert list(document) == TOP_LEVEL
    assert document["$schema"] == "https://mtp.schemas.databiomes.com/v0/bloom_0_3_2.json"
    assert document["instruction"]["memory"] == 3
    basic, extended = document["instruction"]["sets"]
    assert list(basic) == ["context", "guardrails", "ppo", "samples", "set"]
    # samples stably sorted by result value: Score_ before Yes_, insertion order within one result
    assert [s["result"] for s in basic["samples"]] == ["Score_"] * 3 + ["Yes_"] * 3
    assert [s["value"] for s in basic["samples"]] == [0, 1, 2, None, None, None]
    assert basic["samples"][3]["numbers"] == [[], [1], []]
    assert basic["set"] == [["Cat_", "Talk_"], ["Player_", "Level_"], ["Cat_", "Talk_"]]
    # extended: the prompt goes to `prompt`, numbers one entry per set row, none for the response
    sample = extended["samples"][0]
    assert sample["prompt"] == "prompt 0" and sample["strings"] == ["a 0", "b 0", "reply 0"]
    assert sample["numbers"] == [[], [], [2]] and sample["number_lists"] == [[], [], []]
    assert [g["index"] for g in basic["guardrails"]] == [1] and [g["index"] for g in extended["guardrails"]] == [2]
    tokens = document["tokens"]
    assert list(tokens) == sorted(tokens)
    assert tokens["Score_"]["type"] == "FinalNumToken" and tokens["Score_"]["num"] is True
    assert tokens["Yes_"]["type"] == "FinalToken" and tokens["Level_"]["type"] == "NumToken"
    assert tokens["Player_"]["user"] is True and "user" not in tokens["Cat_"]
    assert "<UNK>" in tokens and "<UNK>" in document["special_tokens"]
    assert document["special_tokens"][:2] == ["<BOS>", "<EOS>"]
    assert document["special_tokens"][2:] == sorted(document["special_tokens"][2:])


def test_no_guardrail_means_no_unk():
    protocol = small_protocol()
    for instruction in protocol.instructions:
        for ts in instruction.context:
            ts.guardrail = None
    document = protocol.to_json()
    assert "<UNK>" not in document["tokens"] and "<UNK>" not in document["special_tokens"]
    assert "<NON>" in document["tokens"] and "<NON>" in document["special_tokens"]


def test_number_list_token_entry():
    coords = mtp.NumListToken("Coords", min_value=-5, max_value=5, length=3, desc="x y z")
    assert token_type(coords, False) == "NumListToken"
    protocol = mtp.Protocol("lists", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    where, user, done = mtp.TokenSet((mtp.Token("Where"), coords)), mtp.TokenSet((mtp.UserToken("Who"),)), mtp.Token("Done")
    instruction = mtp.Instruction(context=[where, user], response=mtp.TokenSet((mtp.Token("Reply"),)), final=done, name="i")
    for i in range(3):
        instruction.add_sample([where.create_snippet(f"w{i}", number_lists=[[i, -i, 5]]), f"u{i}"], f"r{i}")
    protocol.add_instruction(instruction)
    document = protocol.to_json()
    assert document["tokens"]["Coords_"] == {
        "desc": "x y z", "key": "Coords_", "length": 3, "max_value": 5, "min_value": -5,
        "num": False, "num_list": 3, "special": None, "type": "NumListToken"}
    assert document["instruction"]["sets"][0]["samples"][1]["number_lists"] == [[[1, -1, 5]], [], []]


def test_schema_url():
    assert schema_url("bloom", "0.3.2") == "https://mtp.schemas.databiomes.com/v0/bloom_0_3_2.json"
    assert schema_url("template", "2.1.0") == "https://mtp.schemas.databiomes.com/v2/template_2_1_0.json"


def test_model_document_is_plain_json():
    document = model_document(small_protocol())
    assert json.loads(json.dumps(document)) == document


def test_non_final_is_written_as_the_special_token(tmp_path):
    protocol = mtp.Protocol("non", inputs=2, encrypt=True)
    for i in range(10):
        protocol.add_context(f"line {i}")
    first, second = mtp.TokenSet((mtp.Token("Cat"),)), mtp.TokenSet((mtp.UserToken("Player"),))
    instruction = mtp.Instruction(context=[first, second], response=first, final=mtp.NON, name="n")
    for i in range(3):
        instruction.add_sample([f"a{i}", f"b{i}"], f"c{i}")
    protocol.add_instruction(instruction)
    model, template = protocol.save(path=tmp_path), protocol.template(path=tmp_path)
    assert_files_valid(model, template)
    document = json.loads(model.read_text(encoding="utf-8"))
    assert {s["result"] for s in document["instruction"]["sets"][0]["samples"]} == {"<NON>"}
    assert json.loads(template.read_text(encoding="utf-8"))["instructions"]["n"]["output"] == ["<string>\n<NON>\n<EOS>"]


def _ext_protocol() -> mtp.Protocol:
    """The reference's ``ext`` protocol (data/README.md section 2) through our API."""
    protocol = mtp.Protocol(name="ext", inputs=2, encrypt=False)
    for letter in "ABCDEFGHIJ":
        protocol.add_context(f"Background line {letter}.")
    cat, alice, talk = mtp.Token("Cat"), mtp.UserToken("Alice"), mtp.Token("Talk")
    mood, leave = mtp.NumToken("Mood", min_value=1, max_value=3), mtp.Token("Leave")
    cat_talk, alice_talk = mtp.TokenSet((cat, talk)), mtp.TokenSet((alice, talk, mood))
    guardrail = mtp.Guardrail("good", "bad", "Nope.")
    for example in ("a b", "c d", "e f"):
        guardrail.add_sample(example)
    alice_talk.set_guardrail(guardrail)
    instruction = mtp.ExtendedInstruction(context=[cat_talk, alice_talk, alice_talk], final=leave, name="ext_leave")
    instruction.add_context("Ext ctx.")
    for i in range(3):
        instruction.add_sample([cat_talk.create_snippet(f"cat{i}"), alice_talk.create_snippet(f"alice{i}", numbers=[1]),
                                alice_talk.create_snippet(f"prompt{i}", numbers=[2])], f"resp{i}")
    protocol.add_instruction(instruction)
    return protocol


def test_extended_only_matches_the_reference_apart_from_our_guardrail_semantics(tmp_path):
    """Equal apart from the user flag and one thing: the reference guards input index 2 only
    (``add_guardrail(g, 2)``), while our guardrail belongs to the TokenSet, which is lines 1 and 2."""
    path = _ext_protocol().save(path=tmp_path)
    ours = json.loads(path.read_text(encoding="utf-8"))
    reference = json.loads((REFERENCE_COPIES / "v0.3.2" / "extended_only_model.json").read_text(encoding="utf-8"))
    reference["tokens"]["Alice_"]["user"] = True
    guards = reference["instruction"]["sets"][0]["guardrails"]
    guards.insert(0, {**guards[0], "index": 1})
    assert ours == reference
    assert_files_valid(path)
