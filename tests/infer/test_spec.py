"""Instruction specs read from the template: finals by key, guardrails, placeholders, user lines."""

from __future__ import annotations

import copy

import pytest

from model_train_protocol.errors import MTPFileError
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.infer import instruction_specs
from model_train_protocol.runtime import final_name


def test_specs_follow_the_template(protocol):
    template = protocol.template_json()
    specs = instruction_specs(template, protocol)
    assert list(specs) == [i.name for i in protocol.instructions]
    appear = specs["alice_cat_alice_appear_disappear"]
    assert [f.name for f in appear.finals] == ["Appear", "Vanish"]
    assert appear.guardrail is not None and appear.guardrail.key == "<UNK>"
    assert specs["alice_cat_alice_instruction_numeric"].guardrail is None  # no guarded line there
    keys = protocol.key_map()
    for instruction in protocol.instructions:
        spec = specs[instruction.name]
        assert {f.key for f in spec.finals} == {keys(s.final) for s in instruction.samples}
        assert spec.text_lines == len(instruction.context)


def test_encrypted_keys_are_hashes_that_map_back():
    protocol = build_protocol()
    protocol.encrypt = True
    spec = instruction_specs(protocol.template_json(), protocol)["alice_cat_alice_appear_disappear"]
    assert [f.key for f in spec.finals] == [protocol.key_map()(t) for t in protocol.instructions[1].finals]
    assert all(f.key != f.value for f in spec.finals)
    assert [f.name for f in spec.finals] == ["Appear", "Vanish"]


def test_placeholders_and_user_lines():
    protocol = build_protocol()
    specs = instruction_specs(protocol.template_json(), protocol)
    numeric = specs["alice_cat_alice_instruction_numeric"]
    assert [(p.line, p.min_value, p.max_value, p.length) for p in numeric.placeholders] == [
        (0, -1000, 1000, 3), (1, 0, 10, None)]
    asks = specs["alice_asks_the_cat"]
    assert asks.user_lines == (False, True, True)
    assert asks.prompt_line == 2
    assert specs["alice_cat_alice_continue"].prompt_line == 1


def test_user_lines_are_found_when_the_protocol_lost_its_instruction_names():
    protocol = build_protocol()
    template = protocol.template_json()
    for i, instruction in enumerate(protocol.instructions):
        instruction.name = f"instruction_{i}"  # what a loaded 0.3.2 model file gives
    specs = instruction_specs(template, protocol)
    assert specs["alice_asks_the_cat"].user_lines == (False, True, True)


def test_without_the_protocol_user_lines_are_unknown():
    specs = instruction_specs(build_protocol().template_json())
    assert specs["alice_asks_the_cat"].user_lines == ()
    assert specs["alice_asks_the_cat"].prompt_line == 2  # the last line


@pytest.mark.parametrize(
    "mutate, pointer",
    [
        (lambda t: t.pop("instructions"), "/"),
        (lambda t: t["instructions"]["alice_asks_the_cat"].update(output=["Vanish_\n<EOS>"]), "/output/0"),
        (lambda t: t["instructions"]["alice_asks_the_cat"].update(output=["<string>\nNope_\n<EOS>"]), "/output/0"),
        (lambda t: t["instructions"]["alice_asks_the_cat"].update(output=[]), "/output"),
        (lambda t: t["instructions"]["alice_asks_the_cat"].update(input=[]), "/input"),
    ],
)
def test_a_broken_template_is_refused_with_its_place(mutate, pointer):
    template = copy.deepcopy(build_protocol().template_json())
    mutate(template)
    with pytest.raises(MTPFileError) as info:
        instruction_specs(template)
    assert info.value.pointer.endswith(pointer)


def test_final_name():
    assert final_name("Vanish_") == "Vanish"
    assert final_name("<UNK>") == "<UNK>"
