"""Objects changed after they were added: every change is refused at once or seen by validate().

``save()`` must never write a file that ``Protocol.load`` refuses, nor a
template that misses an instruction.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.authoring import guardrail_map
from model_train_protocol.rules import collect_tokens


def rules(protocol: mtp.Protocol) -> set[str]:
    return {p.rule for p in protocol.validate()}


def token(protocol: mtp.Protocol, kind: type) -> mtp.Token:
    return next(t for t in collect_tokens(protocol)[0] if type(t) is kind)


def assert_unsavable(protocol: mtp.Protocol, tmp_path, rule: str) -> None:
    assert rule in rules(protocol)
    with pytest.raises(mtp.MTPValidationError):
        protocol.save(path=tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- the repros ------------------------------------------------------------
def test_numtoken_bounds_changed_below_a_sample_value(tmp_path):
    protocol = build_protocol()
    num = token(protocol, mtp.NumToken)
    num.max_value = num.min_value  # samples hold larger numbers
    assert_unsavable(protocol, tmp_path, "sample.numbers")


def test_numtoken_bounds_crossed(tmp_path):
    protocol = build_protocol()
    num = token(protocol, mtp.NumToken)
    num.min_value = num.max_value + 1
    assert {"token.range", "sample.numbers"} <= rules(protocol)


def test_numlisttoken_length_changed(tmp_path):
    protocol = build_protocol()
    token(protocol, mtp.NumListToken).length += 1
    assert_unsavable(protocol, tmp_path, "sample.numbers")


@pytest.mark.parametrize("key, error", [("", mtp.TokenError), ("<EOS>", mtp.TokenError), (5, mtp.TokenTypeError),
                                        ("a b", mtp.TokenError)])
def test_bad_keys_are_refused_when_set(key, error):
    cat = token(build_protocol(), mtp.Token)
    with pytest.raises(error):
        cat.key = key


@pytest.mark.parametrize("attribute, value", [("min_value", math.inf), ("max_value", math.nan), ("min_value", "1"),
                                              ("length", 0), ("length", 1.5), ("desc", 3)])
def test_bad_numbers_are_refused_when_set(attribute, value):
    protocol = build_protocol()
    target = token(protocol, mtp.NumListToken)
    with pytest.raises(mtp.TokenError):
        setattr(target, attribute, value)


def test_token_names_cannot_change():
    cat = token(build_protocol(), mtp.Token)
    with pytest.raises(mtp.TokenError, match="create a new token"):
        cat.name = "Dog"


def test_protocol_inputs_changed_after_adding(tmp_path):
    protocol = build_protocol()
    protocol.inputs += 1
    assert_unsavable(protocol, tmp_path, "instruction.inputs")
    with pytest.raises(mtp.ProtocolTypeError):
        protocol.inputs = "2"


def test_guardrail_bad_output_emptied():
    guardrail = next(iter(build_protocol().guardrail_map().values()))
    with pytest.raises(mtp.GuardrailError):
        guardrail.bad_output = ""
    with pytest.raises(mtp.GuardrailTypeError):
        guardrail.bad_output = None


def test_renaming_an_instruction_to_another_name(tmp_path):
    protocol = build_protocol()
    protocol.instructions[1].name = protocol.instructions[0].name
    assert_unsavable(protocol, tmp_path, "instruction.duplicate-name")
    with pytest.raises(mtp.MTPValidationError):
        protocol.template(path=tmp_path)


def test_instruction_shape_cannot_change():
    instruction = build_protocol().instructions[0]
    with pytest.raises(mtp.InstructionError):
        instruction.context = ()
    with pytest.raises(mtp.InstructionTypeError):
        instruction.name = 5


@pytest.mark.parametrize("junk", ["junk", 5, None])
def test_foreign_objects_in_the_lists(tmp_path, junk):
    for edit, rule in [(lambda p: p.instructions.append(junk), "protocol.instruction-type"),
                       (lambda p: p.context.append(junk), "context.type"),
                       (lambda p: p.instructions[0].samples.append(junk), "instruction.sample-type"),
                       (lambda p: p.instructions[0].background.append(junk), "context.type")]:
        if isinstance(junk, str) and rule == "context.type":
            continue  # a string is a fine context line
        protocol = build_protocol()
        edit(protocol)
        assert_unsavable(protocol, tmp_path, rule)


@pytest.mark.parametrize("text, rule", [("a\0b", "string.invalid"), ("a\ud800", "string.invalid")])
def test_nul_and_lone_surrogates_are_validation_problems(tmp_path, text, rule):
    protocol = build_protocol()
    protocol.add_context(text)
    assert_unsavable(protocol, tmp_path, rule)


def test_long_names_and_file_paths_are_mtp_errors(tmp_path):
    protocol = build_protocol()
    with pytest.raises(mtp.ProtocolError):
        protocol.save(name="n" * 250, path=tmp_path)
    protocol.name = "n" * 250
    assert "protocol.name" in rules(protocol)
    protocol.name = "cheshire_cat"
    existing = tmp_path / "a_file"
    existing.write_text("x")
    with pytest.raises(mtp.ProtocolError, match="existing file"):
        protocol.save(path=existing)


# --- the property ------------------------------------------------------------------
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-20, 20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.sampled_from(["", "<EOS>", "<BOS>", "Cat", "Alice", "x\0", "\ud800", " ", "../x"]),
)


def _mutate(protocol: mtp.Protocol, data: st.DataObject) -> None:
    instructions = [i for i in protocol.instructions if isinstance(i, mtp.Instruction | mtp.ExtendedInstruction)]
    tokens = list({id(t): t for i in instructions for ts in (*i.context, *i.rows) for t in ts.tokens}.values())
    tokens += [t for i in instructions for t in i.finals]
    guardrails = list(dict.fromkeys(guardrail_map(instructions).values()))
    if not instructions or not guardrails:
        return
    kind = data.draw(st.sampled_from(["token", "instruction", "protocol", "guardrail", "lists"]))
    if kind == "token":
        target = data.draw(st.sampled_from(tokens))
        attribute = data.draw(st.sampled_from(["key", "desc", "min_value", "max_value", "length"]))
        setattr(target, attribute, data.draw(VALUES))
    elif kind == "instruction":
        target = data.draw(st.sampled_from(instructions))
        names = [i.name for i in instructions]
        target.name = data.draw(st.one_of(st.sampled_from(names), VALUES))
    elif kind == "protocol":
        attribute = data.draw(st.sampled_from(["name", "inputs", "encrypt"]))
        setattr(protocol, attribute, data.draw(VALUES))
    elif kind == "guardrail":
        target = data.draw(st.sampled_from(guardrails))
        attribute = data.draw(st.sampled_from(["good_prompt", "bad_prompt", "bad_output"]))
        setattr(target, attribute, data.draw(VALUES))
    else:
        which = data.draw(st.sampled_from(["context", "background", "samples", "instructions", "guard_samples"]))
        lists = {"context": protocol.context, "background": data.draw(st.sampled_from(instructions)).background,
                 "samples": data.draw(st.sampled_from(instructions)).samples, "instructions": protocol.instructions,
                 "guard_samples": data.draw(st.sampled_from(guardrails)).samples}
        target = lists[which]
        if target and data.draw(st.booleans()):
            target.pop(data.draw(st.integers(0, len(target) - 1)))
        else:
            target.append(data.draw(st.one_of(VALUES, st.sampled_from(instructions))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_changes_after_adding_are_refused_or_seen_or_round_trip(tmp_path_factory, data):
    protocol = build_protocol()
    for _ in range(data.draw(st.integers(1, 3))):
        try:
            _mutate(protocol, data)
        except mtp.MTPError:
            pass  # refused at once, with the library's own error
    if protocol.validate():
        return
    folder = tmp_path_factory.mktemp("mutated")
    model = protocol.save(path=folder)
    template = json.loads(protocol.template(path=folder).read_text(encoding="utf-8"))
    assert len(template["instructions"]) == len(protocol.instructions)
    assert mtp.Protocol.load(model).to_json() == protocol.to_json()
