"""Parsing a completion against an instruction's allowed outputs."""

from __future__ import annotations

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.infer import MalformedOutput, instruction_specs, parse_completion
from model_train_protocol.render import render_completion


@pytest.fixture
def specs():
    return instruction_specs(build_protocol().template_json())


def test_every_template_output_line_parses(specs):
    for spec in specs.values():
        for final in spec.outputs:
            answer = parse_completion(render_completion("Some text.", final.key), spec)
            assert (answer.text, answer.final_key, answer.final) == ("Some text.", final.key, final.name)
            assert answer.guardrail == (final.key == "<UNK>")
            assert answer.value is None


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
