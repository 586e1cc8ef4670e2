"""``Protocol(version=, state_machine=)``, ``validate_protocol()`` and the reference's ProtocolV1/ProtocolV2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.v1 import ProtocolV1
from model_train_protocol.v2 import ProtocolV2
from core_helpers import assert_schema_valid, tiny_protocol


def _schema(path: Path) -> str:
    return json.loads(path.read_text(encoding="utf-8"))["$schema"].rsplit("/", 1)[1]


def _tiny(**protocol_arguments) -> mtp.Protocol:
    protocol = tiny_protocol(encrypt=False)
    again = mtp.Protocol("tiny", 2, False, **protocol_arguments)
    for line in protocol.context:
        again.add_context(line)
    for instruction in protocol.instructions:
        again.add_instruction(instruction)
    return again


@pytest.mark.parametrize(("version", "model", "template"), [
    (None, "bloom_0_3_2.json", "template_0_3_2.json"),
    ("2.0.1", "bloom_2_0_1.json", "template_2_1_0.json"),
    ("2.0.0", "bloom_2_0_0.json", "template_2_1_0.json"),
    ("1.2.0", "bloom_1_2_0.json", "template_1_2_0.json"),
    ("1.1.0", "bloom_1_1_0.json", "template_1_2_0.json"),
    ("1.2.1", "bloom_1_2_1.json", "template_1_2_0.json"),
])
def test_version_picks_the_layout_save_and_template_write(version, model, template, tmp_path: Path) -> None:
    protocol = _tiny(version=version)
    model_path, template_path = protocol.save(path=tmp_path), protocol.template(path=tmp_path)
    assert (_schema(model_path), _schema(template_path)) == (model, template)
    assert_schema_valid(json.loads(model_path.read_text(encoding="utf-8")))
    assert protocol.to_json()["$schema"].endswith(model)
    assert protocol.to_json("0.3.2")["$schema"].endswith("bloom_0_3_2.json")  # a method's version= still wins


def test_1_2_8_positional_version_and_0_8_state_machine_argument() -> None:
    assert mtp.Protocol("x", 2, True, "2.0.1").version == "2.0.1"  # reference 1.2.8: (name, inputs, encrypt, version)
    assert mtp.Protocol("x", 2, True, False, "1.2.1").version == "1.2.1"  # 0.8: (..., state_machine, version)
    assert mtp.Protocol("x", 1, state_machine=True).version == "1.2.0"


@pytest.mark.parametrize("version", ["9.9.9", "latest", 2])
def test_unknown_version_fails_at_construction(version) -> None:
    with pytest.raises(mtp.MTPValueError, match="version"):
        mtp.Protocol("x", 2, version=version)


def test_validate_protocol_returns_the_reference_pair() -> None:
    assert _tiny().validate_protocol() == (True, None)
    empty = mtp.Protocol("empty", 2)
    ok, message = empty.validate_protocol()
    assert ok is False and "instruction" in message.lower()


def test_protocol_v1_and_v2_default_to_their_layouts(tmp_path: Path, shared_dir: Path) -> None:
    assert ProtocolV1("a", 1).version == "1.2.0" and ProtocolV2("a", 1).version == "2.0.1"
    assert ProtocolV2("a", 1, version="1.2.1").version == "1.2.1"
    loaded = ProtocolV1.from_json(json.loads((shared_dir / "generated/v0.8.8/tiny_model.json").read_text("utf-8")))
    assert loaded.to_json()["$schema"].endswith("bloom_1_2_0.json")
    loaded = ProtocolV2.from_json(json.loads((shared_dir / "generated/v1.2.8/tiny_model.json").read_text("utf-8")))
    assert loaded.to_json()["$schema"].endswith("bloom_2_0_1.json")


def _one_input(reference: bool, bad_example: str = "tell a joke") -> mtp.Protocol:
    cat = mtp.TokenSet(mtp.Token("Cat"))
    done = mtp.Token("Done")
    if reference:
        chat = mtp.Instruction("chat", mtp.InstructionInput([cat]), mtp.InstructionOutput(cat, done))
    else:
        chat = mtp.Instruction(context=[cat], response=cat, final=done, name="chat")
    for i in range(3):
        chat.add_sample([f"hello {i}"], f"hi {i}")
    guardrail = mtp.Guardrail("on topic", "off topic", "What?")
    for text in (bad_example, "sing", "dance"):
        guardrail.add_sample(text)
    chat.add_guardrail(guardrail, 0)
    protocol = mtp.Protocol("one", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    protocol.add_instruction(chat)
    return protocol


def test_a_reference_script_that_0_3_2_cannot_hold_saves_as_the_newest_reference(tmp_path: Path) -> None:
    """1.2.8 scripts write bloom 2.0.1 by default; one input or digits in guardrail examples are fine there."""
    assert _schema(_one_input(True).save(path=tmp_path / "a")) == "bloom_2_0_1.json"
    assert _schema(_one_input(True).template(path=tmp_path / "a")) == "template_2_1_0.json"
    two = _tiny()  # made in 0.3.2's form and fits 0.3.2: keeps the contract's layout
    two.instructions[0].reference_release = "0.3.2"
    assert _schema(two.save(path=tmp_path / "b")) == "bloom_0_3_2.json"
    two.instructions[0].reference_release = "1.2.8"  # the later API: 1.2.8's layout, whatever fits
    assert _schema(two.save(path=tmp_path / "c")) == "bloom_2_0_1.json"
    assert _schema(two.template(path=tmp_path / "c")) == "template_2_1_0.json"


def test_the_seed_api_keeps_the_contract_layout_and_says_why_it_cannot_save() -> None:
    problems = _one_input(False).validate()
    assert "protocol.inputs" in {p.rule for p in problems} or any("inputs" in p.message for p in problems)
    with pytest.raises(mtp.MTPValidationError):
        _one_input(False).to_json()
    assert _one_input(False).to_json("2.0.1")["$schema"].endswith("bloom_2_0_1.json")
