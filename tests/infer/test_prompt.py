"""Prompts filled from the template equal the canonical renderer's: template, training and inference agree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from model_train_protocol.errors import MTPValueError
from model_train_protocol.infer import build_prompt, instruction_specs
from model_train_protocol.runtime import fill_input_lines
from model_train_protocol.rules import render_prompt
from model_train_protocol.authoring import NumListToken, NumToken

from .tiny import cheshire


def sample_numbers(snippets):
    """A sample's numbers flat, in template placeholder order (token order within each line)."""
    flat = []
    for sn in snippets:
        nums, lists = iter(sn.numbers), iter(sn.number_lists)
        for token in sn.tokenset.tokens:
            if isinstance(token, NumToken):
                flat.append(next(nums))
            elif isinstance(token, NumListToken):
                flat.append(list(next(lists)))
    return flat


def test_filled_template_equals_render_prompt_for_every_sample(protocol):
    template = protocol.template_json()
    specs = instruction_specs(template, protocol)
    keys = protocol.key_map()
    count = 0
    for instruction in protocol.instructions:
        lines = template["instructions"][instruction.name]["input"]
        for sample in instruction.samples:
            expected = render_prompt(instruction, sample.inputs, keys)
            strings = [sn.string for sn in sample.inputs]
            numbers = sample_numbers(sample.inputs)
            assert fill_input_lines(lines, strings, numbers) == expected
            assert build_prompt(specs[instruction.name], strings, numbers) == expected
            count += 1
    assert count == 15


def test_example_usage_is_a_filled_template(protocol):
    template = protocol.template_json()
    first = protocol.instructions[0]
    sample = first.samples[0]
    filled = fill_input_lines(template["instructions"][first.name]["input"], [s.string for s in sample.inputs])
    assert filled == template["example_usage"]["instruction_input"]


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    strings=st.lists(text, min_size=2, max_size=2),
    coords=st.lists(st.integers(-1000, 1000), min_size=3, max_size=3),
    emotion=st.integers(0, 10),
    encrypt=st.booleans(),
)
def test_any_numbers_and_texts_match_the_renderer(strings, coords, emotion, encrypt):
    protocol = cheshire(encrypt)
    instruction = protocol.instructions[2]  # numeric: a number list and a number
    located, feeling = instruction.context
    snippets = [
        located.create_snippet(strings[0], number_lists=[coords]),
        feeling.create_snippet(strings[1], numbers=[emotion]),
    ]
    spec = instruction_specs(protocol.template_json(), protocol)[instruction.name]
    assert build_prompt(spec, strings, [coords, emotion]) == render_prompt(instruction, snippets, protocol.key_map())


@pytest.fixture
def numeric_spec():
    protocol = cheshire(False)
    return instruction_specs(protocol.template_json(), protocol)["alice_cat_alice_instruction_numeric"]


@pytest.mark.parametrize(
    "lines, numbers, message",
    [
        (["a"], [[1, 2, 3], 4], "takes 2 input line"),
        (["a", "b"], [[1, 2, 3]], "takes 2 number"),
        (["a", "b"], [[1, 2, 3], 11], r"an integer in \[0, 10\]"),
        (["a", "b"], [[1, 2], 5], r"a list of 3 integers in \[-1000, 1000\]"),
        (["a", "b"], [[1, 2, 3000], 5], "got \\[1, 2, 3000\\]"),
        (["a", "b"], [[1, 2, 3], "5"], "an integer"),
        (["a", "b"], [[1, 2, 3], True], "an integer"),
    ],
)
def test_bad_lines_or_numbers_are_refused(numeric_spec, lines, numbers, message):
    with pytest.raises(MTPValueError, match=message):
        build_prompt(numeric_spec, lines, numbers)


def test_newlines_in_a_line_become_spaces(numeric_spec):
    prompt = build_prompt(numeric_spec, ["one\ntwo", "three\r\nfour"], [[1, 2, 3], 4])
    assert "one two\n" in prompt and "three four\n" in prompt
    assert prompt.count("\n") == build_prompt(numeric_spec, ["x", "y"], [[1, 2, 3], 4]).count("\n")
