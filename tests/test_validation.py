"""validate(): every rule, each with a protocol that breaks it and one that does not; all problems at once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

import model_train_protocol as mtp
from core_helpers import mc_protocol, sm_protocol, small_protocol, tiny_protocol
from model_train_protocol.constants import MAX_STRING_LENGTH
from model_train_protocol.errors import Problem
from model_train_protocol.rules import substring_pairs


def rules(protocol: mtp.Protocol) -> list[str]:
    return [p.rule for p in protocol.validate()]


def two_line_protocol(a: mtp.Token | None = None, b: mtp.Token | None = None, final: mtp.Token | None = None,
                      samples: int = 3, encrypt: bool = False) -> mtp.Protocol:
    """inputs=2, ten context lines, one instruction (a) -> (b) with ``samples`` samples."""
    protocol = mtp.Protocol("v", inputs=2, encrypt=encrypt)
    for i in range(10):
        protocol.add_context(f"line {i}")
    a = a or mtp.Token("Apple")
    b = b or mtp.UserToken("Bird")
    first, second = mtp.TokenSet((a,)), mtp.TokenSet((b,))
    instruction = mtp.Instruction(context=[first, second], response=first, final=final or mtp.Token("Done"), name="i")
    for i in range(samples):
        instruction.add_sample([f"x{i}", f"y{i}"], f"z{i}")
    protocol.add_instruction(instruction)
    return protocol


def test_valid_protocols_have_no_problems():
    assert small_protocol().validate() == []
    assert two_line_protocol().validate() == []


def test_every_problem_is_reported_at_once_with_rule_where_and_hint():
    protocol = two_line_protocol(samples=2)
    protocol.context.clear()
    protocol.add_context("x" * (MAX_STRING_LENGTH + 1))
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["protocol.context-lines", "context.too-long", "instruction.too-few-samples"]
    assert all(isinstance(p, Problem) and p.where and p.message and p.hint for p in problems)
    with pytest.raises(mtp.MTPValidationError) as info:
        protocol.save()
    assert info.value.problems == tuple(problems)
    assert "3 problems" in str(info.value)
    assert all(f"[{p.rule}]" in str(info.value) for p in problems)
    assert problems[0].as_dict()["rule"] == "protocol.context-lines"


def test_protocol_inputs():
    protocol = mtp.Protocol("one", inputs=1)
    assert "protocol.inputs" in rules(protocol)
    assert "protocol.inputs" not in rules(mtp.Protocol("two", inputs=2))


def test_no_instructions():
    assert "protocol.no-instructions" in rules(mtp.Protocol("empty", inputs=2))
    assert "protocol.no-instructions" not in rules(two_line_protocol())


def test_context_lines_count_protocol_and_instruction_lines():
    protocol = two_line_protocol()
    del protocol.context[:2]
    assert "protocol.context-lines" in rules(protocol)
    protocol.instructions[0].add_context("one")
    protocol.instructions[0].add_context("two")
    assert "protocol.context-lines" not in rules(protocol)


def test_context_line_length():
    protocol = two_line_protocol()
    protocol.instructions[0].add_context("x" * MAX_STRING_LENGTH)
    assert "context.too-long" not in rules(protocol)
    protocol.instructions[0].add_context("x" * (MAX_STRING_LENGTH + 1))
    problem = next(p for p in protocol.validate() if p.rule == "context.too-long")
    assert "context line 1" in problem.where and "301" in problem.message


def test_instruction_context_lines():
    protocol = two_line_protocol()
    for i in range(10):
        protocol.instructions[0].add_context(f"c{i}")
    assert "instruction.context-lines" not in rules(protocol)
    protocol.instructions[0].add_context("eleventh")
    assert "instruction.context-lines" in rules(protocol)


def test_samples_per_instruction():
    assert "instruction.too-few-samples" in rules(two_line_protocol(samples=2))
    assert "instruction.too-few-samples" not in rules(two_line_protocol(samples=3))


def test_samples_per_declared_final():
    protocol = two_line_protocol()
    instruction = protocol.instructions[0]
    other = mtp.Token("Other")
    instruction.finals += (other,)
    assert "final.too-few-samples" in rules(protocol)  # declared but unused
    for i in range(2):
        instruction.add_sample(["a", "b"], "c", final=other)
    assert "final.too-few-samples" in rules(protocol)
    instruction.add_sample(["a", "b"], "c", final=other)
    assert "final.too-few-samples" not in rules(protocol)


@pytest.mark.parametrize("where", ["input", "output", "prompt"])
def test_string_length(where):
    protocol = small_protocol()
    long = "x" * (MAX_STRING_LENGTH + 1)
    basic, extended = protocol.instructions
    player = basic.context[1]
    if where == "input":
        basic.add_sample([long, player.create_snippet("p", numbers=[1])], "ok", final=protocol.instructions[0].finals[0])
    elif where == "output":
        basic.add_sample(["c", player.create_snippet("p", numbers=[1])], long, final=basic.finals[0])
    else:
        extended.add_sample(["a", "b", player.create_snippet(long, numbers=[1])], "ok")
    problems = [p for p in protocol.validate() if p.rule == "string.too-long"]
    assert len(problems) == 1
    assert {"input": "input 0", "output": "response", "prompt": "prompt"}[where] in problems[0].where
    assert "string.too-long" not in rules(small_protocol())


@pytest.mark.parametrize("where", ["input", "output", "prompt", "guardrail"])
def test_line_breaks_in_texts(where):
    protocol = small_protocol()
    basic, extended = protocol.instructions
    player = basic.context[1]
    broken = "two\nlines"
    if where == "input":
        basic.add_sample([broken, player.create_snippet("p", numbers=[1])], "ok", final=basic.finals[0])
    elif where == "output":
        basic.add_sample(["c", player.create_snippet("p", numbers=[1])], "a\r\nb", final=basic.finals[0])
    elif where == "prompt":
        extended.add_sample(["a", "b", player.create_snippet(broken, numbers=[1])], "ok")
    else:
        next(iter(protocol.guardrail_map().values())).add_sample(broken)
    problems = [p for p in protocol.validate() if p.rule == "string.newline"]
    assert len(problems) == 1
    assert {"input": "input 0", "output": "response", "prompt": "prompt", "guardrail": "guardrail"}[where] in problems[0].where
    assert "string.newline" not in rules(small_protocol())


def test_duplicate_value():
    protocol = two_line_protocol(final=mtp.Token("Apple", desc="another apple"))
    assert "token.duplicate-value" in rules(protocol)
    # An equal token object (same class, value, key, desc) is the same token.
    assert "token.duplicate-value" not in rules(two_line_protocol(a=mtp.Token("Apple"), b=mtp.UserToken("Bird")))


def test_duplicate_key():
    assert "token.duplicate-key" in rules(two_line_protocol(a=mtp.Token("Apple", key="k"), b=mtp.UserToken("Bird", key="k")))
    assert "token.duplicate-key" not in rules(two_line_protocol(a=mtp.Token("Apple", key="k"), b=mtp.UserToken("Bird", key="j")))


def test_substring_of_values():
    problems = [p for p in two_line_protocol(a=mtp.Token("Cat"), b=mtp.UserToken("Cats")).validate()
                if p.rule == "token.substring"]
    assert len(problems) == 1 and "'Cat_'" in problems[0].message and "'Cats_'" in problems[0].message
    assert "token.substring" in rules(two_line_protocol(a=mtp.Token("Talk"), b=mtp.UserToken("TALKING")))
    assert "token.substring" in rules(two_line_protocol(a=mtp.Token("Car"), b=mtp.UserToken("Scar")))
    assert "token.substring" not in rules(two_line_protocol(a=mtp.Token("Cat"), b=mtp.UserToken("Dog")))


def test_substring_never_checked_against_special_tokens():
    """FORMAT.md 6.25: Running, Padding, Unknown, Bosun... are innocent names."""
    protocol = two_line_protocol(a=mtp.Token("Running"), b=mtp.UserToken("Padding"), final=mtp.Token("Unknown"))
    assert protocol.validate() == []


def test_substring_of_keys():
    protocol = two_line_protocol(a=mtp.Token("Apple", key="ab"), b=mtp.UserToken("Bird", key="xaby"))
    assert "token.key-substring" in rules(protocol)
    assert "token.key-substring" not in rules(two_line_protocol(a=mtp.Token("Apple", key="ab"), b=mtp.UserToken("Bird", key="cd")))


def test_final_in_a_set():
    apple = mtp.Token("Apple")
    assert "token.final-in-set" in rules(two_line_protocol(a=apple, final=apple))
    # an equal but distinct token object is the same token too
    assert "token.final-in-set" in rules(two_line_protocol(a=mtp.Token("Apple"), final=mtp.Token("Apple")))
    assert "token.final-in-set" not in rules(two_line_protocol(a=apple, final=mtp.Token("Pear")))


def test_guardrail_too_few_samples():
    protocol = small_protocol()
    guardrail = protocol.instructions[0].context[1].guardrail
    guardrail.samples.pop()
    assert "guardrail.too-few-samples" in rules(protocol)
    guardrail.add_sample("another one")
    assert "guardrail.too-few-samples" not in rules(protocol)


def test_guardrail_digits_as_loaded_from_newer_files():
    protocol = small_protocol()
    guardrail = protocol.instructions[0].context[1].guardrail
    guardrail.samples.append("top 10 songs")  # add_sample refuses it; a loaded 0.4+ file may hold it
    assert "guardrail.digits" in rules(protocol)
    guardrail.samples.pop()
    assert "guardrail.digits" not in rules(protocol)


def test_guardrail_conflict_between_equal_token_sets():
    def guard(text):
        g = mtp.Guardrail("good", "bad", text)
        for s in ("one", "two", "three"):
            g.add_sample(s)
        return g

    protocol = two_line_protocol()
    instruction = protocol.instructions[0]
    instruction.context[1].set_guardrail(guard("No."))
    assert "guardrail.conflict" not in rules(protocol)
    # another TokenSet with an equal (distinct) token: the same line to the model
    twin = mtp.TokenSet((mtp.UserToken("Bird"),))
    twin.set_guardrail(guard("Never."))
    other = mtp.Instruction(context=[instruction.context[0], twin], response=instruction.context[0],
                            final=instruction.finals[0], name="j")
    for i in range(3):
        other.add_sample(["a", "b"], "c")
    protocol.add_instruction(other)
    assert "guardrail.conflict" in rules(protocol)


def test_substring_rule_over_ten_thousand_tokens():
    names = [f"Tok{i:05d}x" for i in range(10_000)]
    assert substring_pairs(names) == []
    planted = names + ["Tok00042xyz"]
    assert substring_pairs(planted) == [("Tok00042x", "Tok00042xyz")]


def test_substring_rule_over_ten_thousand_tokens_in_a_protocol():
    tokens = [mtp.Token(f"W{i:05d}q") for i in range(10_000)] + [mtp.Token("W00007qq")]
    protocol = mtp.Protocol("many", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    big, user = mtp.TokenSet(tokens), mtp.TokenSet((mtp.UserToken("Player"),))
    instruction = mtp.Instruction(context=[big, user], response=mtp.TokenSet((mtp.Token("Say"),)),
                                  final=mtp.Token("Done"), name="many")
    for i in range(3):
        instruction.add_sample(["a", "b"], "c")
    protocol.add_instruction(instruction)
    problems = protocol.validate()
    # unencrypted keys are the values, so the key rule sees the same pair
    assert [(p.rule, p.where) for p in problems] == [("token.substring", "token 'W00007q'"),
                                                     ("token.key-substring", "key 'W00007q_'")]


def test_token_value_length():
    """Values are set-row strings of the file, limited to 300 characters like every string."""
    assert "token.too-long" in rules(two_line_protocol(a=mtp.Token("A" * MAX_STRING_LENGTH)))
    assert "token.too-long" not in rules(two_line_protocol(a=mtp.Token("A" * (MAX_STRING_LENGTH - 1))))


# --- state machines and multi-classifiers ------------------------------------------------------------------------

CHOICE_RULES = ["protocol.mixed-model-types", "state-machine.one-instruction", "protocol.layout-model-type",
                "multi-classifier.guardrail", "multi-classifier.state-map", "sample.state", "sample.labels",
                "sample.labels-in-map", "token.generated-name", "state-machine.no-states"]


def test_state_machine_and_multi_classifier_protocols_are_valid():
    assert sm_protocol().validate() == [] and sm_protocol(guarded=False).validate() == []
    assert mc_protocol().validate() == []
    for version in ("1.1.0", "1.2.0", "1.2.1", "2.0.0", "2.0.1"):
        assert sm_protocol().validate(version) == []
    assert not set(CHOICE_RULES) & set(rules(small_protocol()))


def test_a_state_machine_needs_ten_samples():
    protocol = sm_protocol()
    del protocol.instructions[0].samples[9:]
    [problem] = protocol.validate()
    assert problem.rule == "instruction.too-few-samples" and "at least 10" in problem.message
    assert "Add 1 more" in problem.hint
    assert "instruction.too-few-samples" not in rules(mc_protocol())  # 4 samples: a multi-classifier needs 3


def test_a_state_machine_protocol_has_one_instruction_even_when_the_list_is_edited_by_hand():
    protocol = sm_protocol(guarded=False)
    other = sm_protocol(guarded=False).instructions[0]
    other.name = "second"
    protocol.instructions.append(other)
    assert rules(protocol) == ["state-machine.one-instruction"]


def test_mixing_model_types_by_hand_is_a_problem():
    protocol = mc_protocol()
    utterance = protocol.instructions[0].context[0]
    basic = mtp.Instruction(context=[utterance], response=mtp.TokenSet(mtp.Token("Reply")), final=mtp.Token("Done"),
                            name="basic")
    for i in range(3):
        basic.add_sample([f"u{i}"], f"r{i}")
    protocol.instructions.append(basic)
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["protocol.mixed-model-types"]
    assert problems[0].where == "instruction 'basic'" and "'multi_classifier'" in problems[0].message


def test_a_state_must_be_declared():
    protocol = sm_protocol()
    machine = protocol.instructions[0]
    machine.add_sample(["Idle", "jump"], "Flying")
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["sample.state"]
    assert problems[0].where == "instruction 'StateMachineInstruction' sample 10"
    assert "'Flying'" in problems[0].message and "'Idle', 'Running', 'Stopped'" in problems[0].message


def test_a_state_machine_without_states_is_made_then_reported():
    """As the reference, StateMachineInstruction(states=[]) is created (its states only describe the answer line
    there); here a protocol holding it is not valid, since its template would list no state."""
    machine = mtp.StateMachineInstruction(context=[mtp.TokenSet(mtp.Token("Previous")),
                                                   mtp.TokenSet(mtp.Token("Event"))], states=[])
    assert machine.states == () and machine.get_states() == []
    protocol = sm_protocol()
    protocol.instructions[0] = machine
    for i in range(10):
        machine.add_sample(["Idle", f"event {i}"], "Running")
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["state-machine.no-states"]
    assert problems[0].where == "instruction 'StateMachineInstruction'" and "states=[...]" in problems[0].hint


def test_label_values_must_come_from_the_state_map():
    protocol = mc_protocol()
    protocol.instructions[0].add_sample(["Meh."], {"emotion": "bored", "intent": "statement"})
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["sample.labels-in-map"]
    assert "'bored'" in problems[0].message and "'happy', 'sad'" in problems[0].message


def test_every_label_must_be_named_even_in_samples_made_by_hand():
    protocol = mc_protocol()
    classifier = protocol.instructions[0]
    good = classifier.samples[0]
    classifier.samples.append(type(good)(good.inputs, "{'emotion': 'happy'}", good.final))
    classifier.samples.append(type(good)(good.inputs, "not labels", good.final))
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["sample.labels", "sample.labels"]
    assert "missing 'intent'" in problems[0].message and "not a label dict" in problems[1].message


def test_a_multi_classifier_has_no_guardrail():
    protocol = mc_protocol()
    line = mtp.TokenSet(mtp.UserToken("Said"))
    guardrail = mtp.Guardrail("talk", "no talk", "none")
    for example in ("a", "b", "c"):
        guardrail.add_sample(example)
    line.set_guardrail(guardrail)
    guarded = mtp.MultiClassifierInstruction(context=[line], state_map={"emotion": ["happy", "sad"],
                                                                        "intent": ["question", "statement"]},
                                             name="guarded")
    for text, emotion, intent in [("a", "happy", "question"), ("b", "sad", "question"), ("c", "sad", "statement")]:
        guarded.add_sample([text], {"emotion": emotion, "intent": intent})
    protocol.add_instruction(guarded)
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["multi-classifier.guardrail"]
    assert "has no guardrail" in problems[0].message and problems[0].where == "instruction 'guarded'"


def test_multi_classifiers_of_one_protocol_share_their_state_map():
    protocol = mc_protocol()
    line = protocol.instructions[0].context[0]
    other = mtp.MultiClassifierInstruction(context=[line], state_map={"emotion": ["happy", "sad"]}, name="other")
    for emotion in ("happy", "sad", "happy"):
        other.add_sample(["x"], {"emotion": emotion})
    protocol.add_instruction(other)
    assert rules(protocol) == ["multi-classifier.state-map"]


@pytest.mark.parametrize("build, version, can", [
    (sm_protocol, "0.3.2", "'1.1.0', '1.2.0', '1.2.1', '2.0.0', '2.0.1'"),
    (mc_protocol, "0.3.2", "'2.0.0', '2.0.1'"),
    (mc_protocol, "1.1.0", "'2.0.0', '2.0.1'"),
    (mc_protocol, "1.2.1", "'2.0.0', '2.0.1'"),
])
def test_the_layout_must_hold_the_model_type(build, version, can):
    problems = build().validate(version)
    assert "protocol.layout-model-type" in [p.rule for p in problems]
    problem = next(p for p in problems if p.rule == "protocol.layout-model-type")
    assert f"bloom {version} layout cannot hold" in problem.message and can in problem.message
    assert build().validate("2.0.0") == []


@pytest.mark.parametrize("name, generated", [("State", "state machine"), ("States", "multi-classifier")])
def test_a_token_named_like_the_generated_one_is_a_clear_problem(name, generated):
    protocol = mtp.Protocol("clash", inputs=1)
    for i in range(10):
        protocol.add_context(f"line {i}")
    line = mtp.TokenSet(mtp.Token(name))
    if generated == "state machine":
        instruction = mtp.StateMachineInstruction(context=[line], states=["A", "B"])
        for i in range(10):
            instruction.add_sample([f"x{i}"], "AB"[i % 2])
    else:
        instruction = mtp.MultiClassifierInstruction(context=[line], state_map={"label": ["a", "b"]})
        for i in range(3):
            instruction.add_sample([f"x{i}"], {"label": "a"})
    protocol.add_instruction(instruction)
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["token.generated-name"]
    assert generated in problems[0].message and "duplicate" not in problems[0].message


def test_a_token_containing_the_generated_name_is_explained():
    protocol = mtp.Protocol("clash", inputs=1)
    for i in range(10):
        protocol.add_context(f"line {i}")
    machine = mtp.StateMachineInstruction(context=[mtp.TokenSet(mtp.Token("GameState"))], states=["A"])
    for i in range(10):
        machine.add_sample([f"x{i}"], "A")
    protocol.add_instruction(machine)
    [problem] = protocol.validate()
    assert problem.rule == "token.substring" and "'State_' is generated" in problem.message


def test_every_rule_of_validation_py_has_a_test_here():
    import inspect
    import re
    from pathlib import Path

    from model_train_protocol.rules import _validation as validation

    source = inspect.getsource(validation)
    rule_ids = set(re.findall(r'(?:\badd\(|_check_length\(add, )"([a-z]+\.[a-z-]+)"', source))
    assert len(rule_ids) >= 15
    tests = Path(__file__).read_text(encoding="utf-8")
    assert sorted(r for r in rule_ids if tests.count(f'"{r}"') < 2) == []


def _cheshire():
    from model_train_protocol.examples.cheshire_cat import build_protocol

    return build_protocol()


def _num(protocol, kind):
    from model_train_protocol.rules import collect_tokens

    return next(t for t in collect_tokens(protocol)[0] if type(t) is kind)


def _lower_max(p):
    _num(p, mtp.NumToken).max_value = _num(p, mtp.NumToken).min_value


def _cross_bounds(p):
    _num(p, mtp.NumToken).min_value = _num(p, mtp.NumToken).max_value + 1


def _drop_finals(p):
    instruction = next(i for i in p.instructions if len(i.finals) > 1)
    instruction.finals = instruction.finals[:1]


@pytest.mark.parametrize("rule, change", [
    ("protocol.name", lambda p: setattr(p, "name", "../x")),
    ("context.type", lambda p: p.context.append(5)),
    ("protocol.instruction-type", lambda p: p.instructions.append("junk")),
    ("instruction.duplicate-name", lambda p: setattr(p.instructions[1], "name", p.instructions[0].name)),
    ("instruction.name", lambda p: setattr(p.instructions[0], "name", "a\0b")),
    ("instruction.inputs", lambda p: setattr(p, "inputs", 3)),
    ("instruction.sample-type", lambda p: p.instructions[0].samples.append(None)),
    ("guardrail.sample-type", lambda p: next(iter(p.guardrail_map().values())).samples.append(7)),
    ("sample.numbers", _lower_max),
    ("token.range", _cross_bounds),
    ("string.invalid", lambda p: p.add_context("\ud800")),
    ("sample.final", _drop_finals),
])
def test_changes_after_adding_are_problems(rule, change):
    """Objects stay editable after add_instruction; validate() sees what an edit breaks (issue 13)."""
    protocol = _cheshire()
    assert rule not in rules(protocol)
    change(protocol)
    assert rule in rules(protocol)


#: The rules that catch edits made after add_instruction, each exercised above.
AFTER_ADD_RULES = ("protocol.name", "context.type", "protocol.instruction-type", "instruction.duplicate-name",
                   "instruction.name", "instruction.inputs", "instruction.sample-type", "guardrail.sample-type",
                   "sample.numbers", "token.range", "string.invalid", "sample.final")


def test_every_after_add_rule_is_exercised():
    exercised = {mark.args[1][i][0] for mark in test_changes_after_adding_are_problems.pytestmark
                 if mark.name == "parametrize" for i in range(len(mark.args[1]))}
    assert exercised == set(AFTER_ADD_RULES)


@pytest.mark.parametrize("name", ["a/b", "back\\slash", " padded", "..", "nul\0"])
def test_a_name_that_save_refuses_is_a_validation_problem(name):
    """validate() must not call valid what save() and template() refuse."""
    from core_helpers import mc_protocol, sm_protocol, small_protocol

    protocol = small_protocol()
    protocol.name = name
    problems = protocol.validate()
    assert [p.rule for p in problems] == ["protocol.name"]
    assert problems[0].rule == "protocol.name" and "names the saved files" in problems[0].message
    with pytest.raises(mtp.MTPError):
        protocol.save(path=".")


def test_each_problem_carries_a_path_from_which_where_and_pointer_come():
    protocol = _cheshire()
    second = protocol.instructions[1]
    second.add_context("x" * 301)
    line = len(second.background) - 1
    first = protocol.instructions[0]
    cat_talk, alice_talk = first.context
    first.add_sample([cat_talk.create_snippet("Why?"), alice_talk.create_snippet("y" * 301)],
                     cat_talk.create_snippet("Because."))
    at = len(first.samples) - 1
    guardrail = alice_talk.guardrail
    guardrail.samples.append("top 10")
    found = {(p.rule, p.path, p.pointer, p.where) for p in protocol.validate()}
    name0, name1 = first.name, second.name
    assert ("context.too-long", ("instructions", 1, "context", line), f"/instruction/sets/1/context/{line}",
            f"instruction {name1!r} context line {line}") in found
    assert ("string.too-long", ("instructions", 0, "samples", at, "input", 1), f"/instruction/sets/0/samples/{at}",
            f"instruction {name0!r} sample {at} input 1") in found
    assert ("guardrail.digits", ("guardrails", guardrail.bad_output), None,
            f"guardrail {guardrail.bad_output!r}") in found


def test_a_long_token_name_points_at_its_own_entry():
    """The pointer comes from the token's value, not from a shortened name in the message."""
    long_name = "L" * 310
    protocol = two_line_protocol(a=mtp.Token(long_name))
    problem = next(p for p in protocol.validate() if p.rule == "token.too-long")
    assert problem.path == ("tokens", long_name + "_")
    assert problem.pointer == "/tokens/" + long_name + "_"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abAB1_-", min_size=1, max_size=6), max_size=8))
def test_substring_pairs_finds_what_the_pairwise_rule_finds(names):
    """The hash-map rule (used by validation and by the CSV importer) agrees with the quadratic definition."""
    def reduce(text):
        return "".join(ch for ch in text.lower() if ch.isalnum())

    reduced = [reduce(n) for n in names]
    expected = {(a, b) for i, a in enumerate(names) for j, b in enumerate(names)
                if i != j and reduced[i] and reduced[j] and reduced[i] in reduced[j]
                and (reduced[i] != reduced[j] or i < j)}
    found = set(substring_pairs(names))
    assert found <= expected
    assert bool(found) == bool(expected)


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_guardrail_sample_put_in_by_hand_is_a_problem_not_a_file_that_fails_to_load(text):
    protocol = tiny_protocol(encrypt=False)
    guardrail = protocol.instructions[0].context[1].guardrail
    guardrail.samples.append(text)
    assert [p.rule for p in protocol.validate()] == ["guardrail.empty-sample"]
    assert "guardrail.empty-sample" in {p.rule for p in protocol.validate("2.0.1")}


# --- user text may not contain structural strings (issue 20, finding 17) ------------------------------------
@pytest.mark.parametrize("text,found", [("I say <EOS> now.", "<EOS>"), ("Say <RUN> then", "<RUN>"),
                                        ("Done_ is it", "Done_"), ("the Cat_ said", "Cat_"), ("🗣 hello", "🗣")])
def test_a_sample_text_holding_a_structural_string_is_a_problem(tmp_path, text, found):
    protocol = tiny_protocol(False)
    chat = protocol.instructions[0]
    alice_talk = chat.rows[1]
    chat.add_sample(input_snippets=[text, alice_talk.create_snippet(string="plain", numbers=[3])],
                    output_snippet="Fine.")
    problems = [p for p in protocol.validate() if p.rule == "string.structural"]
    assert len(problems) == 1 and repr(found) in problems[0].message
    assert problems[0].path[:4] == ("instructions", 0, "samples", 3)
    with pytest.raises(mtp.MTPValidationError, match="structural"):
        protocol.save(path=tmp_path)


def test_context_guardrail_and_response_texts_are_checked_too():
    protocol = tiny_protocol(False)
    protocol.add_context("A line with <BOS> inside.")
    guardrail = next(iter(protocol.guardrail_map().values()))
    guardrail.add_sample("say <UNK> please")
    chat = protocol.instructions[0]
    chat.add_sample(input_snippets=["Hi.", chat.rows[1].create_snippet(string="Yo.", numbers=[1])],
                    output_snippet="Bye <PAD>.")
    where = sorted(p.path[0] for p in protocol.validate() if p.rule == "string.structural")
    assert where == ["context", "guardrails", "instructions"]


def test_the_examples_hold_no_structural_text():
    from model_train_protocol.examples import cheshire_cat, support_intents

    for module in (cheshire_cat, support_intents):
        assert not [p for p in module.build_protocol().validate() if p.rule == "string.structural"]
