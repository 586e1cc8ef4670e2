"""Guardrails: construction, bad-prompt samples, and where they apply."""

from __future__ import annotations

import pytest

import model_train_protocol as mtp
from core_helpers import small_protocol
from model_train_protocol.guardrail import guardrail_conflicts, guardrail_map, instruction_guardrails


def test_guardrail():
    g = mtp.Guardrail(good_prompt="On topic", bad_prompt="Off topic", bad_output="What?")
    g.add_sample("tell a joke")
    assert (g.good_prompt, g.bad_prompt, g.bad_output, g.samples) == ("On topic", "Off topic", "What?", ["tell a joke"])
    assert repr(g) == "Guardrail(bad_output='What?', samples=1)"


@pytest.mark.parametrize("args, error", [
    ((1, "b", "c"), mtp.GuardrailTypeError),
    (("a", None, "c"), mtp.GuardrailTypeError),
    (("a", "b", ""), mtp.GuardrailError),
    (("a", "  ", "c"), mtp.GuardrailError),
])
def test_construction_errors(args, error):
    with pytest.raises(error):
        mtp.Guardrail(*args)


@pytest.mark.parametrize("sample, error, fragment", [
    ("top 10 songs", mtp.GuardrailError, "digit '1'"),
    ("x²", mtp.GuardrailError, "digit"),
    ("", mtp.GuardrailError, "empty"),
    ("   ", mtp.GuardrailError, "empty"),
    (3, mtp.GuardrailTypeError, "string"),
])
def test_sample_errors(sample, error, fragment):
    with pytest.raises(error, match=fragment):
        mtp.Guardrail("a", "b", "c").add_sample(sample)


def test_where_guardrails_apply():
    protocol = small_protocol()
    basic, extended = protocol.instructions
    gmap = guardrail_map(protocol.instructions)
    guardrail = basic.context[1].guardrail
    assert gmap == {"Player_Level_": guardrail}
    assert instruction_guardrails(basic, gmap) == [(1, guardrail)]
    assert instruction_guardrails(extended, gmap) == [(2, guardrail)]  # the prompt line
    assert guardrail_conflicts(protocol.instructions) == []
