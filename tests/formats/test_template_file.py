"""The template file (template 0.3.2): the reference layout with its defects fixed."""

from __future__ import annotations

import json

import pytest

import model_train_protocol as mtp
from core_helpers import REFERENCE_COPIES, assert_files_valid, small_protocol, tiny_protocol


@pytest.mark.parametrize("encrypt, stem", [(False, "tiny"), (True, "tiny_encrypted")])
def test_tiny_equals_the_reference_apart_from_the_fixed_example(tmp_path, encrypt, stem):
    path = tiny_protocol(encrypt).template(path=tmp_path)
    ours = json.loads(path.read_text(encoding="utf-8"))
    reference = json.loads((REFERENCE_COPIES / "v0.3.2" / f"{stem}_template.json").read_text(encoding="utf-8"))
    # Defect fixes (FORMAT.md 6.3, 6.7): the example takes sample 0's number (3, not a random one) and
    # renders the response set by its keys, never by the clear value-key.
    cat, mood = ("50f7dd", "f95216") if encrypt else ("Cat_", "Mood_")
    fixed = f"<BOS>\n{cat}🗣\nHi.\nac50a4🗣{mood}3\nHello cat.\n{cat}🗣\n<RUN>\n" if encrypt else \
        f"<BOS>\n{cat}🗣\nHi.\nAlice_🗣{mood}3\nHello cat.\n{cat}🗣\n<RUN>\n"
    assert reference["example_usage"]["instruction_input"] != fixed
    reference["example_usage"]["instruction_input"] = fixed
    assert ours == reference
    assert list(ours) == list(reference)  # key order too
    assert_files_valid(path)
    if encrypt:
        assert "Cat_" not in path.read_text(encoding="utf-8").split('"instructions"')[1]


def test_outputs_and_examples_follow_the_samples():
    protocol = small_protocol(encrypt=False)
    document = protocol.template_json()
    basic, extended = document["instructions"]["basic"], document["instructions"]["extended"]
    assert list(document["instructions"]) == ["basic", "extended"]  # insertion order
    # outputs: one per final in sample order (Yes_ was used first), then the guardrail line
    # (a NumToken final shows its number placeholder right after the key, as input lines do)
    assert basic["output"] == ["<string>\nYes_\n<EOS>", "<string>\nScore_<num_0_10>\n<EOS>", "<string>\n<UNK>\n<EOS>"]
    assert extended["input"] == ["<BOS>\n", "Cat_Talk_\n<string>\n", "Cat_Talk_\n<string>\n",
                                 "Player_Level_<num_1_5><string>\n\n", "<RUN>"]
    assert document["example_usage"] == {
        "instruction_input": "<BOS>\nCat_Talk_\ncat 0\nPlayer_Level_1\nplayer 0\nCat_Talk_\n<RUN>\n",
        "valid_model_output": "answer 0\nYes_\n<EOS>",
        "guardrail_model_output": "I only answer questions.\n<UNK>\n<EOS>",
    }
    assert document["tokens"]["output"] == {"<UNK>": "<UNK>", "Score_": "Score_", "Yes_": "Yes_"}


def test_example_uses_the_sample_final_not_the_first_declared():
    protocol = small_protocol()
    basic = protocol.instructions[0]
    basic.samples.insert(0, basic.samples.pop(1))  # sample 0 now ends with Score_
    assert protocol.template_json()["example_usage"]["valid_model_output"] == "scored 0\nScore_0\n<EOS>"  # and value


def test_template_of_an_extended_only_protocol(tmp_path):
    """The reference crashes here (FORMAT.md 6.17); we take the example from the extended instruction."""
    protocol = small_protocol()
    del protocol.instructions[0]
    path = protocol.template(path=tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["example_usage"]["instruction_input"] == (
        "<BOS>\nCat_Talk_\na 0\nCat_Talk_\nb 0\nPlayer_Level_2prompt 0\n\n<RUN>\n")
    assert document["example_usage"]["valid_model_output"] == "reply 0\nYes_\n<EOS>"
    assert_files_valid(path)


def test_guardrail_set_after_add_instruction_is_complete():
    """FORMAT.md 6.9: a guardrail attached late still gives <UNK> everywhere it belongs."""
    protocol = small_protocol()
    player = protocol.instructions[0].context[1]
    late = player.guardrail
    player.guardrail = None
    assert "<UNK>" not in protocol.template_json()["tokens"]["output"]
    player.set_guardrail(late)
    document = protocol.template_json()
    assert document["tokens"]["output"]["<UNK>"] == "<UNK>"
    assert document["example_usage"]["guardrail_model_output"] == "I only answer questions.\n<UNK>\n<EOS>"


def test_float_bounds_render_as_python_prints_them(tmp_path):
    """FORMAT.md 6.16: the reference's template() crashes on float bounds."""
    protocol = mtp.Protocol("floats", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    ratio = mtp.NumToken("Ratio", min_value=0.5, max_value=1.5)
    first, second = mtp.TokenSet((mtp.Token("Cat"), ratio)), mtp.TokenSet((mtp.UserToken("Player"),))
    instruction = mtp.Instruction(context=[first, second], response=mtp.TokenSet((mtp.Token("Say"),)),
                                  final=mtp.NumToken("Grade", min_value=-0.25, max_value=0.75), name="f")
    for value in (-0.25, 0, 0.75):
        instruction.add_sample([first.create_snippet("c", numbers=[1]), "p"], "r", value=value)
    protocol.add_instruction(instruction)
    path = protocol.template(path=tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["instructions"]["f"]["input"][1] == "Cat_Ratio_<num_0.5_1.5>\n<string>\n"
    assert document["example_usage"]["instruction_input"].startswith("<BOS>\nCat_Ratio_1\nc\n")
    assert_files_valid(path, protocol.save(path=tmp_path))
