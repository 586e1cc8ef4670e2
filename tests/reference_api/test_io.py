"""The reference's instruction inputs/outputs and its Instruction/ExtendedInstruction calls (reference_api.io)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp


@pytest.fixture
def lines():
    cat, alice, talk = mtp.Token("Cat"), mtp.Token("Alice"), mtp.Token("Talk")
    mood = mtp.NumToken("Mood", min_value=0, max_value=9)
    return {
        "cat_talk": mtp.TokenSet(tokens=(cat, talk)),
        "alice_mood": mtp.TokenSet(tokens=(alice, talk, mood)),
        "done": mtp.FinalToken("Done"),
        "mood": mood,
    }


def guardrail(samples: int = 3) -> mtp.Guardrail:
    g = mtp.Guardrail(good_prompt="On topic", bad_prompt="Off topic", bad_output="What?")
    for text in ("sing", "dance", "joke")[:samples]:
        g.add_sample(text)
    return g


# --- InstructionInput / outputs -------------------------------------------------
def test_instruction_input_keeps_its_tokensets_in_order(lines) -> None:
    given_sets = [lines["alice_mood"], lines["cat_talk"]]
    assert mtp.InstructionInput(tokensets=given_sets).tokensets == given_sets
    assert isinstance(mtp.StateMachineInput([lines["cat_talk"]]), mtp.InstructionInput)


@pytest.mark.parametrize("bad", ["text", None, [], ["not a set"]])
def test_instruction_input_refuses_anything_but_a_list_of_tokensets(bad, lines) -> None:
    with pytest.raises(mtp.InstructionInputError, match="TokenSet"):
        mtp.InstructionInput(tokensets=bad)


def test_instruction_input_refuses_a_single_tokenset_saying_how_to_write_it(lines) -> None:
    with pytest.raises(mtp.InstructionInputError, match=r"InstructionInput\(tokensets=\[cat_talk"):
        mtp.InstructionInput(lines["cat_talk"])


def test_a_final_token_never_labels_an_input_line(lines) -> None:
    with pytest.raises(mtp.InstructionInputError, match="FinalToken 'Done'"):
        mtp.InstructionInput([mtp.TokenSet((mtp.Token("Cat"), lines["done"]))])


def test_instruction_output_takes_one_final_or_a_list(lines) -> None:
    vanish = mtp.FinalToken("Vanish")
    assert mtp.InstructionOutput(lines["cat_talk"], lines["done"]).final == [lines["done"]]
    assert mtp.InstructionOutput(lines["cat_talk"], [lines["done"], vanish]).final == [lines["done"], vanish]
    assert mtp.InstructionOutput(lines["cat_talk"]).final == [mtp.NON]
    assert mtp.ExtendedResponse(lines["done"]).tokenset is None


def test_instruction_output_refuses_number_tokens_in_the_answer_line(lines) -> None:
    with pytest.raises(mtp.OutputError, match="FinalNumToken"):
        mtp.InstructionOutput(tokenset=lines["alice_mood"], final=lines["done"])


@pytest.mark.parametrize("final", ["Done", 3, [mtp.Token("A"), "B"]])
def test_instruction_output_refuses_finals_that_are_not_tokens(final, lines) -> None:
    with pytest.raises(mtp.OutputTypeError):
        mtp.InstructionOutput(tokenset=lines["cat_talk"], final=final)
    with pytest.raises(TypeError):  # also a built-in TypeError, as the reference's
        mtp.ExtendedResponse(final=final)


def test_outputs_need_a_tokenset(lines) -> None:
    with pytest.raises(mtp.OutputTypeError, match="needs a TokenSet"):
        mtp.InstructionOutput(tokenset=[lines["cat_talk"]], final=lines["done"])
    with pytest.raises(mtp.OutputError, match="required_keys"):
        mtp.MultiClassifierOutput(lines["cat_talk"], required_keys=[])
    assert mtp.StateMachineOutput(lines["cat_talk"]).final == [mtp.NON]


# --- the Instruction forms ------------------------------------------------------------
def _later(lines, **extra):
    return dict(input=mtp.InstructionInput([lines["cat_talk"], lines["alice_mood"]]),
                output=mtp.InstructionOutput(lines["cat_talk"], lines["done"]), **extra)


def test_name_first_form_positional_and_keyword(lines) -> None:
    args = _later(lines)
    a = mtp.Instruction("chat", args["input"], args["output"], context=["One.", "Two."])
    b = mtp.Instruction(name="chat", input=args["input"], output=args["output"], context=["One.", "Two."])
    for instruction in (a, b):
        assert instruction.name == "chat"
        assert instruction.tokensets == (lines["cat_talk"], lines["alice_mood"])
        assert instruction.context == ["One.", "Two."]  # 0.8+: context is the background lines
        assert instruction.input.tokensets == [lines["cat_talk"], lines["alice_mood"]]
        assert instruction.output.tokenset is lines["cat_talk"] and instruction.output.final == [lines["done"]]
        assert instruction.response is lines["cat_talk"]
        assert instruction.finals == (lines["done"],)
        assert instruction.background == ["One.", "Two."]


def test_0_3_2_positional_form(lines) -> None:
    args = _later(lines)
    instruction = mtp.Instruction(args["input"], args["output"], ["Background."], "chat")
    assert (instruction.name, instruction.background) == ("chat", ["Background."])


def test_unnamed_reference_instruction_gets_a_name_made_of_its_lines(lines) -> None:
    instruction = mtp.Instruction(**_later(lines))
    assert instruction.name == "Cat_Talk_,Alice_Talk_Mood_->Cat_Talk_:Done_"
    assert "0x" not in instruction.name


def test_seed_form_is_unchanged(lines) -> None:
    instruction = mtp.Instruction(context=[lines["cat_talk"]], response=lines["cat_talk"], final=lines["done"],
                                  name="seed")
    assert instruction.background == [] and instruction.name == "seed"
    with pytest.raises(mtp.InstructionTypeError, match="needs a unique name"):
        mtp.Instruction([lines["cat_talk"]], lines["cat_talk"], lines["done"])


@pytest.mark.parametrize(("call", "says"), [
    (lambda l, a: mtp.Instruction("chat", a["input"], a["output"], context=[l["cat_talk"]]),
     r"TokenSets go in InstructionInput"),
    (lambda l, a: mtp.Instruction("chat", a["input"], a["output"], context="One line."),
     r"list of background strings"),
    (lambda l, a: mtp.Instruction("chat", a["input"], a["output"], final=l["done"]), r"no argument 'final'"),
    (lambda l, a: mtp.Instruction("chat", a["input"], a["output"], name="again"), r"two values for 'name'"),
    (lambda l, a: mtp.Instruction("chat", a["input"], mtp.ExtendedResponse(l["done"])), r"mtp.ExtendedInstruction"),
    (lambda l, a: mtp.Instruction("chat", [l["cat_talk"]], a["output"]), r"needs input=InstructionInput"),
    (lambda l, a: mtp.Instruction("chat", a["input"], l["cat_talk"]), r"needs output=InstructionOutput"),
    (lambda l, a: mtp.Instruction(5, a["input"], a["output"]), r"needs input=InstructionInput.*got int"),
    (lambda l, a: mtp.Instruction(context=[l["cat_talk"]], response=l["cat_talk"]), r"missing .*'final'.*write"),
    (lambda l, a: mtp.Instruction(context=[l["cat_talk"]], response=l["cat_talk"], final=l["done"], colour=1),
     r"unexpected keyword.*colour"),
    (lambda l, a: mtp.ExtendedInstruction(a["input"], a["output"]), r"needs output=ExtendedResponse"),
    (lambda l, a: mtp.ExtendedInstruction(input=a["input"], output=mtp.ExtendedResponse(l["done"]), name=3),
     r"name must be a string"),
])
def test_misuse_raises_our_type_error_saying_what_and_how(call, says, lines) -> None:
    with pytest.raises(mtp.InstructionTypeError, match=says) as info:
        call(lines, _later(lines))
    assert isinstance(info.value, TypeError)


def test_add_sample_takes_output_value_as_the_reference_names_it(lines) -> None:
    madness = mtp.FinalNumToken("Madness", min_value=0, max_value=10)
    instruction = mtp.Instruction("n", mtp.InstructionInput([lines["cat_talk"]]),
                                  mtp.InstructionOutput(lines["cat_talk"], madness))
    assert instruction.add_sample(["a"], "b", output_value=7).value == 7
    with pytest.raises(mtp.InstructionTypeError, match="pass one"):
        instruction.add_sample(["a"], "b", value=1, output_value=2)
    with pytest.raises(mtp.InstructionError, match="out of range"):
        instruction.add_sample(["a"], "b", output_value=11)


def test_extended_reference_form_needs_no_user_token_and_takes_inputs(lines) -> None:
    ext = mtp.ExtendedInstruction(input=mtp.InstructionInput([lines["cat_talk"], lines["alice_mood"]]),
                                  output=mtp.ExtendedResponse(final=lines["done"]), context=["Ctx."])
    assert ext.name == "extended_instruction" and ext.background == ["Ctx."]
    sample = ext.add_sample(inputs=["hi", lines["alice_mood"].create_snippet("prompt", numbers=[1])],
                            response_string="reply")
    assert sample.prompt.string == "prompt"
    with pytest.raises(mtp.InstructionTypeError, match="pass one"):
        ext.add_sample(["hi", "x"], "reply", inputs=["hi", "x"])
    with pytest.raises(mtp.InstructionTypeError, match="missing 1 required positional argument: .response_string."):
        ext.add_sample(inputs=["hi", "x"])


def test_seed_extended_instruction_still_needs_a_user_token(lines) -> None:
    with pytest.raises(mtp.InstructionError, match="must include an mtp.UserToken"):
        mtp.ExtendedInstruction(context=[lines["cat_talk"], lines["cat_talk"]], final=lines["done"], name="x")


# --- add_guardrail -----------------------------------------------------------------
def test_add_guardrail_follows_the_reference_rules(lines) -> None:
    instruction = mtp.Instruction("chat", **_later(lines))
    with pytest.raises(mtp.GuardrailError, match="at least 3"):
        instruction.add_guardrail(guardrail(2), 0)
    for index in (-1, 2):
        with pytest.raises(mtp.GuardrailIndexError, match="out of range"):
            instruction.add_guardrail(guardrail(), index)
    with pytest.raises(mtp.GuardrailIndexError, match="must be an int"):
        instruction.add_guardrail(guardrail(), True)
    with pytest.raises(mtp.GuardrailTypeError):
        instruction.add_guardrail("What?", 0)
    shared = guardrail()
    instruction.add_guardrail(shared, 0)
    instruction.add_guardrail(shared, 1)  # one guardrail may guard several lines
    with pytest.raises(mtp.DuplicateGuardrailError, match="already defined"):
        instruction.add_guardrail(guardrail(), 1)
    assert instruction.input_guardrails == {0: shared, 1: shared}


def test_add_guardrail_refuses_a_line_whose_tokenset_is_guarded_already() -> None:
    user = mtp.TokenSet((mtp.UserToken("Player"),))
    user.set_guardrail(guardrail())
    instruction = mtp.Instruction(context=[user], response=mtp.TokenSet((mtp.Token("Npc"),)),
                                  final=mtp.Token("End"), name="x")
    with pytest.raises(mtp.DuplicateGuardrailError):
        instruction.add_guardrail(guardrail(), 0)


def _protocol(*instructions, version=None) -> mtp.Protocol:
    protocol = mtp.Protocol("p", inputs=2, encrypt=False, version=version)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    for instruction in instructions:
        protocol.add_instruction(instruction)
    return protocol


def _filled(instruction, lines):
    for i in range(3):
        instruction.add_sample([f"a{i}", lines["alice_mood"].create_snippet(f"b{i}", numbers=i)], f"c{i}")
    return instruction


def test_guardrail_added_after_add_instruction_still_counts(lines) -> None:
    """The reference loses <UNK> then (FORMAT.md 6, defect 9); here the file is the same either way."""
    late = _filled(mtp.Instruction("late", **_later(lines)), lines)
    protocol = _protocol(late)
    late.add_guardrail(guardrail(), 1)
    early = _filled(mtp.Instruction("late", **_later(lines)), lines)
    early.add_guardrail(guardrail(), 1)
    document = protocol.to_json()
    assert "<UNK>" in document["tokens"] and "<UNK>" in document["special_tokens"]
    assert document == _protocol(early).to_json()


def test_guardrail_of_one_instruction_leaves_another_with_the_same_tokenset_unguarded(lines) -> None:
    guarded = _filled(mtp.Instruction("guarded", **_later(lines)), lines)
    guarded.add_guardrail(guardrail(), 1)
    other = _filled(mtp.Instruction("other", **_later(lines)), lines)
    sets = _protocol(guarded, other).to_json("2.0.1")["instruction"]["sets"]
    assert [[g["index"] for g in s["guardrails"]] for s in sets] == [[1], []]


def test_seed_and_reference_instructions_mix_in_one_protocol(lines) -> None:
    seed = mtp.Instruction(context=[lines["cat_talk"], lines["alice_mood"]], response=lines["cat_talk"],
                           final=lines["done"], name="seed")
    protocol = _protocol(_filled(seed, lines), _filled(mtp.Instruction("later", **_later(lines)), lines))
    assert protocol.validate() == []
    assert [s["name"] for s in protocol.to_json("2.0.1")["instruction"]["sets"]] == ["seed", "later"]


# --- the same protocol through both APIs gives the same bytes ---------------------------
_words = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).filter(str.strip)


@settings(max_examples=40, deadline=None)
@given(samples=st.lists(st.tuples(_words, _words, st.integers(0, 9), _words), min_size=3, max_size=6),
       background=st.lists(_words, max_size=3, unique=True), guarded=st.booleans(), encrypt=st.booleans())
def test_seed_and_reference_api_give_identical_files(samples, background, guarded, encrypt) -> None:
    def build(reference: bool) -> mtp.Protocol:
        cat, alice, talk = mtp.Token("Cat"), mtp.Token("Alice"), mtp.Token("Talk")
        mood = mtp.NumToken("Mood", min_value=0, max_value=9)
        cat_talk, alice_mood = mtp.TokenSet((cat, talk)), mtp.TokenSet((alice, talk, mood))
        done = mtp.FinalToken("Done") if reference else mtp.Token("Done")
        if reference:
            instruction = mtp.Instruction("chat", mtp.InstructionInput([cat_talk, alice_mood]),
                                          mtp.InstructionOutput(cat_talk, done), context=background)
        else:
            instruction = mtp.Instruction(context=[cat_talk, alice_mood], response=cat_talk, final=done, name="chat")
            for line in background:
                instruction.add_context(line)
        for first, second, number, answer in samples:
            instruction.add_sample([first, alice_mood.create_snippet(second, numbers=[number])], answer)
        if guarded:
            instruction.add_guardrail(guardrail(), 0)
        protocol = mtp.Protocol("same", inputs=2, encrypt=encrypt)
        for i in range(10):
            protocol.add_context(f"Line {i}.")
        protocol.add_instruction(instruction)
        return protocol

    for version in ("0.3.2", "2.0.1"):
        seed, reference = build(False).to_json(version), build(True).to_json(version)
        assert json.dumps(seed, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)


def test_a_multi_classifier_takes_no_guardrail(lines) -> None:
    """Reference 1.2.8's MultiClassifierInstruction has no add_guardrail at all (FORMAT.md 1.5)."""
    classifier = mtp.MultiClassifierInstruction(input=mtp.InstructionInput([lines["cat_talk"]]),
                                                state_map={"mood": ["happy", "sad"]})
    with pytest.raises(mtp.GuardrailError, match="multi-classifier has no guardrail"):
        classifier.add_guardrail(guardrail(), 0)


def test_a_state_machine_takes_a_guardrail_on_one_of_its_input_lines(lines) -> None:
    machine = mtp.StateMachineInstruction(input=mtp.StateMachineInput([lines["cat_talk"], lines["alice_mood"]]),
                                          states=["Idle", "Busy"])
    machine.add_guardrail(guardrail(), 1)
    with pytest.raises(mtp.GuardrailIndexError):
        machine.add_guardrail(guardrail(), 2)  # the State line is the answer, not an input
    assert machine.input_guardrails.keys() == {1}
