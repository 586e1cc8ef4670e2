"""Instructions and ExtendedInstructions: shape, samples, finals and values."""

from __future__ import annotations

import pytest

import model_train_protocol as mtp


@pytest.fixture
def parts():
    cat, talk, alice = mtp.Token("Cat"), mtp.Token("Talk"), mtp.UserToken("Alice")
    mood = mtp.NumToken("Mood", 0, 9)
    return {
        "cat_talk": mtp.TokenSet((cat, talk)),
        "alice_talk": mtp.TokenSet((alice, talk)),
        "alice_mood": mtp.TokenSet((alice, mood)),
        "cat_mood": mtp.TokenSet((cat, mood)),
        "done": mtp.Token("Done"), "yes": mtp.Token("Yes"),
        "score": mtp.NumToken("Score", 0, 10),
    }


def test_basic_instruction(parts):
    instruction = mtp.Instruction(context=[parts["cat_talk"], parts["alice_talk"]], response=parts["cat_talk"],
                                  final=parts["done"], name="chat")
    assert instruction.kind == "basic" and instruction.finals == (parts["done"],)
    assert instruction.input_sets == instruction.context and instruction.rows[-1] is parts["cat_talk"]
    sample = instruction.add_sample(input_snippets=["hi", parts["alice_talk"].create_snippet("hello")],
                                    output_snippet=parts["cat_talk"].create_snippet("yo"))
    assert (sample.output, sample.final, sample.value, sample.prompt) == ("yo", parts["done"], None, None)
    assert [s.string for s in sample.inputs] == ["hi", "hello"]
    instruction.add_context("background")
    assert instruction.background == ["background"]
    assert repr(instruction) == "Instruction(name='chat', samples=1)"


def test_extended_instruction(parts):
    instruction = mtp.ExtendedInstruction(context=[parts["cat_talk"], parts["cat_talk"], parts["alice_mood"]],
                                          final=parts["done"], name="ask")
    assert instruction.kind == "extended" and instruction.input_sets == instruction.context[:2]
    assert instruction.prompt_set is parts["alice_mood"]
    sample = instruction.add_sample(["a", "b", parts["alice_mood"].create_snippet("why?", numbers=[4])], "because")
    assert sample.prompt.string == "why?" and sample.output == "because"


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"name": None}, mtp.InstructionTypeError, "unique name"),
    ({"name": 5}, mtp.InstructionTypeError, "string"),
    ({"name": "  "}, mtp.InstructionError, "empty"),
    ({"context": "cat_talk"}, mtp.InstructionTypeError, "list of TokenSets"),
    ({"context": []}, mtp.InstructionError, "at least one"),
    ({"context": ["x"]}, mtp.InstructionTypeError, "not a TokenSet"),
    ({"response": "x"}, mtp.InstructionTypeError, "response"),
    ({"response": "alice_talk"}, mtp.InstructionError, "UserToken"),
    ({"response": "cat_mood"}, mtp.InstructionError, "number token"),
    ({"final": None}, mtp.InstructionTypeError, "final"),
    ({"final": []}, mtp.InstructionError, "at least one"),
    ({"final": "Done"}, mtp.InstructionTypeError, "final"),
    ({"final": mtp.RUN}, mtp.InstructionError, "cannot be a final"),
    ({"final": mtp.NumListToken("L", 0, 1, 2)}, mtp.InstructionError, "NumListToken"),
    ({"final": mtp.UserToken("U")}, mtp.InstructionError, "UserToken"),
    ({"final": "twice"}, mtp.InstructionError, "listed twice"),
])
def test_construction_errors(parts, kwargs, error, fragment):
    args = {"context": [parts["cat_talk"], parts["alice_talk"]], "response": parts["cat_talk"],
            "final": parts["done"], "name": "chat"}
    args.update(kwargs)
    for key in ("context", "response"):
        if isinstance(args[key], str) and args[key] in parts:
            args[key] = parts[args[key]]
    if kwargs.get("final") == "twice":
        args["final"] = [parts["done"], parts["done"]]
    with pytest.raises(error, match=fragment):
        mtp.Instruction(**args)


def test_extended_prompt_set_needs_a_user_token(parts):
    with pytest.raises(mtp.InstructionError, match="UserToken"):
        mtp.ExtendedInstruction(context=[parts["alice_talk"], parts["cat_talk"]], final=parts["done"], name="x")


def test_non_is_an_allowed_final(parts):
    instruction = mtp.Instruction(context=[parts["cat_talk"]], response=parts["cat_talk"], final=mtp.NON, name="n")
    assert instruction.add_sample(["a"], "b").final is mtp.NON


def test_sample_errors(parts):
    instruction = mtp.Instruction(context=[parts["cat_talk"], parts["alice_mood"]], response=parts["cat_talk"],
                                  final=[parts["yes"], parts["score"]], name="chat")
    mood = parts["alice_mood"].create_snippet("m", numbers=[1])
    with pytest.raises(mtp.InstructionError, match="several finals"):
        instruction.add_sample(["a", mood], "b")
    with pytest.raises(mtp.InstructionError, match=r"Number of context snippets \(1\)"):
        instruction.add_sample(["a"], "b", final=parts["yes"])
    with pytest.raises(mtp.InstructionTypeError):
        instruction.add_sample("a", "b", final=parts["yes"])
    with pytest.raises(mtp.InstructionError, match="needs numbers"):
        instruction.add_sample(["a", "plain"], "b", final=parts["yes"])
    with pytest.raises(mtp.InstructionError, match="was made on"):
        instruction.add_sample([mood, mood], "b", final=parts["yes"])
    with pytest.raises(mtp.InstructionTypeError, match="Snippet or a string"):
        instruction.add_sample(["a", 3], "b", final=parts["yes"])
    with pytest.raises(mtp.InstructionError, match="not one of its finals"):
        instruction.add_sample(["a", mood], "b", final=parts["done"])
    with pytest.raises(mtp.InstructionTypeError, match="final must be a Token"):
        instruction.add_sample(["a", mood], "b", final="Yes")
    with pytest.raises(mtp.InstructionError, match="needs value"):
        instruction.add_sample(["a", mood], "b", final=parts["score"])
    with pytest.raises(mtp.InstructionError, match="out of range"):
        instruction.add_sample(["a", mood], "b", final=parts["score"], value=11)
    with pytest.raises(mtp.InstructionError, match="out of range"):
        instruction.add_sample(["a", mood], "b", final=parts["score"], value=float("nan"))
    with pytest.raises(mtp.InstructionTypeError):
        instruction.add_sample(["a", mood], "b", final=parts["score"], value="5")
    with pytest.raises(mtp.InstructionError, match="not a NumToken"):
        instruction.add_sample(["a", mood], "b", final=parts["yes"], value=3)
    assert instruction.samples == []
    assert instruction.add_sample(["a", mood], "b", final=parts["score"], value=7.5).value == 7.5


def test_equal_final_and_equal_token_set_are_accepted(parts):
    """A snippet belongs to a TokenSet by value-key; a final may be an equal token object."""
    instruction = mtp.Instruction(context=[parts["cat_talk"]], response=parts["cat_talk"], final=parts["done"], name="e")
    twin_set = mtp.TokenSet(parts["cat_talk"].tokens)
    sample = instruction.add_sample([twin_set.create_snippet("a")], "b", final=mtp.Token("Done"))
    assert sample.final is parts["done"]


def test_extended_sample_errors(parts):
    instruction = mtp.ExtendedInstruction(context=[parts["cat_talk"], parts["alice_talk"]], final=parts["done"], name="x")
    with pytest.raises(mtp.InstructionTypeError, match="response_string"):
        instruction.add_sample(["a", "b"], 5)
    with pytest.raises(mtp.InstructionTypeError):
        instruction.add_context(3)


def test_hand_made_snippets_are_checked_like_create_snippet(parts):
    """mtp.Snippet is public; one built by hand must not smuggle a float into the file."""
    instruction = mtp.Instruction(context=[parts["cat_talk"], parts["alice_mood"]], response=parts["cat_talk"],
                                  final=parts["done"], name="hand")
    with pytest.raises(mtp.TokenSetTypeError, match="float"):
        instruction.add_sample(["a", mtp.Snippet("m", parts["alice_mood"], numbers=(2.5,))], "b")
    with pytest.raises(mtp.TokenSetError, match="out of range"):
        instruction.add_sample(["a", mtp.Snippet("m", parts["alice_mood"], numbers=(10,))], "b")
    with pytest.raises(mtp.TokenSetError):
        instruction.add_sample(["a", mtp.Snippet("m", parts["alice_mood"])], "b")
    sample = instruction.add_sample([mtp.Snippet("c", parts["cat_talk"]), mtp.Snippet("m", parts["alice_mood"], (4,))], "b")
    assert sample.inputs[1].numbers == (4,) and all(s.checked for s in sample.inputs)
