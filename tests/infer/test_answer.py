"""Parsing a completion against an instruction's allowed outputs."""

from __future__ import annotations

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.infer import MalformedOutput, instruction_specs, parse_completion
from model_train_protocol.rules import render_completion


@pytest.fixture
def specs():
    return instruction_specs(build_protocol().template_json())


def test_every_template_output_line_parses(specs):
    for spec in specs.values():
        for final in spec.outputs:
            value = final.int_range()[1] if final.numeric else None
            written = final.key + ("" if value is None else str(value))
            answer = parse_completion(render_completion("Some text.", written), spec)
            assert (answer.text, answer.final_key, answer.final) == ("Some text.", final.key, final.name)
            assert answer.guardrail == (final.key == "<UNK>")
            assert answer.value == value


@pytest.mark.parametrize(
    "raw",
    [
        "text\nVanish_\n",  # no <EOS>
        "text\nVanish_<EOS>",
        "two\nlines\nVanish_\n<EOS>",
        "text\nContinue_\n<EOS>",  # a final of another instruction
        "text\nVanish_5\n<EOS>",
        "text\n<UNK>\n<EOS>extra",
    ],
)
def test_other_shapes_are_malformed(specs, raw):
    with pytest.raises(MalformedOutput):
        parse_completion(raw, specs["alice_asks_the_cat"])


def test_no_refusal_where_the_instruction_has_no_guardrail(specs):
    with pytest.raises(MalformedOutput, match="Madness_"):
        parse_completion("text\n<UNK>\n<EOS>", specs["alice_cat_alice_instruction_numeric"])


NUMERIC = "alice_cat_alice_instruction_numeric"


def test_a_numeric_final_reads_its_range_from_the_template(specs):
    (final,) = specs[NUMERIC].finals
    assert (final.key, final.name, final.numeric, final.int_range()) == ("Madness_", "Madness", True, (0, 10))
    assert not any(f.numeric for f in specs["alice_asks_the_cat"].outputs)


@pytest.mark.parametrize("value", [0, 5, 10])
def test_a_numeric_final_carries_its_value(specs, value):
    answer = parse_completion(f"Quite mad.\nMadness_{value}\n<EOS>", specs[NUMERIC])
    assert (answer.final, answer.final_key, answer.value, answer.text) == ("Madness", "Madness_", value, "Quite mad.")
    assert isinstance(answer.value, int)


@pytest.mark.parametrize(
    "final_line", ["Madness_", "Madness_11", "Madness_-1", "Madness_05", "Madness_x", "Madness_5.0", "Madness_ 5"]
)
def test_a_numeric_final_needs_an_in_range_integer(specs, final_line):
    with pytest.raises(MalformedOutput, match="Madness_<int 0..10>"):
        parse_completion(f"text\n{final_line}\n<EOS>", specs[NUMERIC])


def test_a_trained_sample_round_trips_through_render_and_parse(specs):
    """What the renderer trains the model to write is what the parser reads back: the sample's value."""
    from model_train_protocol.rules import render_protocol

    protocol = build_protocol()
    numeric = [e for e in render_protocol(protocol) if e.instruction == NUMERIC and not e.guardrail]
    assert numeric
    for example in numeric:
        assert parse_completion(example.completion, specs[NUMERIC]).value == example.value is not None
