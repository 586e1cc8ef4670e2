"""Reading a whole prompt back (the OpenAI-compatible endpoint): every prompt the template writes, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_train_protocol.errors import MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.infer import build_prompt, instruction_specs, read_prompt


def _specs(encrypt: bool):
    protocol = build_protocol()
    protocol.encrypt = encrypt
    return instruction_specs(protocol.template_json(), protocol)


SPECS = {False: _specs(False), True: _specs(True)}
#: Any text a user may send, line breaks included (the prompt turns them into spaces).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=30)


@st.composite
def filled(draw):
    encrypt = draw(st.booleans())
    spec = draw(st.sampled_from(list(SPECS[encrypt].values())))
    lines = draw(st.lists(TEXT, min_size=spec.text_lines, max_size=spec.text_lines))
    numbers = []
    for p in spec.placeholders:
        value = st.integers(int(p.min_value), int(p.max_value))
        numbers.append(draw(st.lists(value, min_size=p.length, max_size=p.length)) if p.length else draw(value))
    return encrypt, spec, lines, numbers


@settings(max_examples=200, deadline=None)
@given(filled())
def test_every_prompt_the_template_writes_reads_back(case):
    encrypt, spec, lines, numbers = case
    prompt = build_prompt(spec, lines, numbers)
    found, read_lines, read_numbers = read_prompt(SPECS[encrypt].values(), prompt)
    assert found.name == spec.name
    assert read_numbers == numbers
    assert build_prompt(found, read_lines, read_numbers) == prompt


def test_the_last_newline_may_be_left_out():
    spec = SPECS[False]["alice_cat_alice_continue"]
    prompt = build_prompt(spec, ["a", "b"])
    assert read_prompt(SPECS[False].values(), prompt.rstrip("\n"))[1] == ["a", "b"]


@pytest.mark.parametrize("edit, message", [
    (lambda p: "Hello " + p, "not the filled input lines of any instruction"),
    (lambda p: p.replace("Emotion_5", "Emotion_11"), "an integer in [0, 10] (input line 2), got 11"),
    (lambda p: p.replace("Emotion_5", "Emotion_05"), "not what its template writes"),
    (lambda p: p.replace("[1, 2, 3]", "[1, 2]"), "a list of 3 integers"),
    (lambda p: p.replace("[1, 2, 3]", "[1,2,3]"), "not the filled input lines"),
    (lambda p: p.replace("<RUN>", "<RUN>\n<RUN>"), "not the filled input lines"),
    (lambda p: p + "extra", "not the filled input lines"),
])
def test_other_prompts_are_refused_with_the_reason(edit, message):
    spec = SPECS[False]["alice_cat_alice_instruction_numeric"]
    prompt = edit(build_prompt(spec, ["a", "b"], [[1, 2, 3], 5]))
    with pytest.raises(MTPValueError) as caught:
        read_prompt(SPECS[False].values(), prompt)
    assert message in str(caught.value)


def test_an_encrypted_template_needs_its_own_keys():
    prompt = build_prompt(SPECS[False]["alice_cat_alice_continue"], ["a", "b"])
    with pytest.raises(MTPValueError, match="not the filled input lines"):
        read_prompt(SPECS[True].values(), prompt)
