"""Guardrails: construction, bad-prompt samples, and where they apply."""

from __future__ import annotations

import gc
import json

import pytest

import model_train_protocol as mtp
from core_helpers import small_protocol
from model_train_protocol.authoring import guardrail_conflicts, guardrail_map, instruction_guardrails


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
    ("", mtp.GuardrailError, "empty"),
    ("   ", mtp.GuardrailError, "empty"),
    (3, mtp.GuardrailTypeError, "string"),
])
def test_sample_errors(sample, error, fragment):
    with pytest.raises(error, match=fragment):
        mtp.Guardrail("a", "b", "c").add_sample(sample)


def test_digits_are_kept_and_refused_only_by_the_0_3_2_layout():
    protocol = small_protocol()
    guardrail = protocol.instructions[0].context[1].guardrail
    guardrail.add_sample("top 10 songs")
    guardrail.add_sample("x²")
    assert guardrail.samples[-2:] == ["top 10 songs", "x²"]
    digits = [p for p in protocol.validate("0.3.2") if p.rule == "guardrail.digits"]
    assert len(digits) == 2 and "'top 10 songs'" in digits[0].message
    assert not [p for p in protocol.validate("2.0.1") if p.rule == "guardrail.digits"]


def test_where_guardrails_apply():
    protocol = small_protocol()
    basic, extended = protocol.instructions
    gmap = guardrail_map(protocol.instructions)
    guardrail = basic.context[1].guardrail
    assert gmap == {"Player_Level_": guardrail}
    assert instruction_guardrails(basic, gmap) == [(1, guardrail)]
    assert instruction_guardrails(extended, gmap) == [(2, guardrail)]  # the prompt line
    assert guardrail_conflicts(protocol.instructions) == []


def _guard(bad_output: str) -> mtp.Guardrail:
    g = mtp.Guardrail("On topic", "Off topic", bad_output)
    for text in ("tell a joke", "sing a song", "what is the weather"):
        g.add_sample(text)
    return g


def _protocol_on(tokens: tuple, guard_with=None) -> mtp.Protocol:
    """A valid two-line protocol over ``tokens`` (cat, player, done); ``guard_with(player_tokens)`` guards its line."""
    cat, player, done = tokens
    protocol = mtp.Protocol(name="probe", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Background line {chr(65 + i)}.")
    cat_line, player_line = mtp.TokenSet((cat,)), mtp.TokenSet((player,))
    if guard_with is not None:
        guard_with(player_line)
    instruction = mtp.Instruction(context=[cat_line, player_line], response=cat_line, final=done, name="talk")
    for text in ("hello", "how are you", "goodbye"):
        instruction.add_sample([cat_line.create_snippet("meow"), player_line.create_snippet(text)],
                               cat_line.create_snippet("purr"))
    protocol.add_instruction(instruction)
    return protocol


def test_a_guardrail_set_on_a_temporary_equal_set_is_saved(tmp_path):
    """Probe 1: guard an equal TokenSet built inside a function, then let it go; the file keeps the guardrail."""
    tokens = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))
    guardrail = _guard("I only talk about cats.")

    def guard_line() -> None:
        mtp.TokenSet((tokens[1],)).set_guardrail(guardrail)  # the set itself is garbage right after

    guard_line()
    gc.collect()
    protocol = _protocol_on(tokens)
    assert protocol.validate() == []
    path = protocol.save(path=tmp_path)
    saved = json.loads(path.read_text(encoding="utf-8"))["instruction"]["sets"][0]["guardrails"]
    assert [g["bad_output"] for g in saved] == ["I only talk about cats."]


def test_a_second_protocol_on_the_same_tokens_may_choose_its_own_guardrail(tmp_path):
    """Probe 2: two protocols reuse the same token objects, each guarding its own TokenSet differently."""
    tokens = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))
    first_guard, second_guard = _guard("Only cats."), _guard("Only dogs.")
    first = _protocol_on(tokens, lambda ts: ts.set_guardrail(first_guard))
    second = _protocol_on(tokens, lambda ts: ts.set_guardrail(second_guard))  # raised "already has a guardrail"
    assert first.validate() == [] and second.validate() == []
    assert first.guardrail_map() == {"Player_": first_guard}
    assert second.guardrail_map() == {"Player_": second_guard}


def test_equal_sets_with_different_guardrails_in_one_protocol_are_a_validation_problem():
    tokens = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))
    protocol = _protocol_on(tokens, lambda ts: ts.set_guardrail(_guard("Only cats.")))
    cat_line, player_twin = mtp.TokenSet((tokens[0],)), mtp.TokenSet((tokens[1],))
    player_twin.set_guardrail(_guard("Only dogs."))  # an equal set: the same line to the model
    other = mtp.Instruction(context=[cat_line, player_twin], response=cat_line, final=tokens[2], name="other")
    for text in ("a", "b", "c"):
        other.add_sample([cat_line.create_snippet("x"), player_twin.create_snippet(text)], cat_line.create_snippet("y"))
    protocol.add_instruction(other)
    assert [p.rule for p in protocol.validate()] == ["guardrail.conflict"]


def test_a_line_guarded_twice_elsewhere_and_unguarded_here_is_a_conflict_not_a_guess():
    tokens = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))
    mtp.TokenSet((tokens[1],)).set_guardrail(_guard("Only cats."))
    mtp.TokenSet((tokens[1],)).set_guardrail(_guard("Only dogs."))
    protocol = _protocol_on(tokens)
    assert [p.rule for p in protocol.validate()] == ["guardrail.conflict"]


def test_two_protocols_in_one_process_do_not_leak_into_each_other(tmp_path):
    """Each protocol's lines take only the guardrails of its own token objects; nothing is kept by a module."""
    cats = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))
    dogs = (mtp.Token("Cat"), mtp.UserToken("Player"), mtp.Token("Done"))  # equal values, other objects
    guard = _guard("Only cats.")
    first = _protocol_on(cats, lambda ts: ts.set_guardrail(guard))
    second = _protocol_on(dogs)
    assert first.guardrail_map() == {"Player_": guard} and second.guardrail_map() == {}
    saved = first.save(path=tmp_path / "a")
    again, reread = mtp.Protocol.load(saved), mtp.Protocol.load(saved)
    (key, loaded), = again.guardrail_map().items()  # a file's guardrail guards its instruction's line
    assert reread.guardrail_map()[key] is not loaded and loaded.bad_output == "Only cats."
    mtp.TokenSet(again.instructions[0].context[1].tokens).set_guardrail(_guard("Only dogs."))  # one protocol's change
    assert again.instructions[0].context[1].effective_guardrail.bad_output == "Only dogs."
    assert reread.instructions[0].context[1].effective_guardrail is None  # is not the other one's
    assert list(reread.guardrail_map()) == [key]


def test_a_token_keeps_its_guarded_sets_as_a_plain_declared_tuple():
    """No hidden attribute and no id()-keyed map: the guarded sets are a slot every token has."""
    tree, alice = mtp.Token("Tree"), mtp.UserToken("Alice")
    assert tree.guarded_sets == () and not hasattr(tree, "__dict__")
    guarded = mtp.TokenSet((tree, alice))
    guarded.set_guardrail(_guard("No."))
    guarded.set_guardrail(guarded.guardrail)  # the same guardrail again records the set once
    assert tree.guarded_sets == (guarded,) and alice.guarded_sets == ()
