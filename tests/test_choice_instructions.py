"""State machines and multi-classifiers as objects: both constructor styles, samples, one model type per protocol."""

import pytest

import model_train_protocol as mtp


def _sets():
    return mtp.TokenSet(mtp.Token("Previous")), mtp.TokenSet(mtp.Token("Event"))


class _Input:  # what the reference's InstructionInput / StateMachineInput expose
    def __init__(self, tokensets):
        self.tokensets = tokensets


def test_a_state_machine_answers_a_state_with_the_non_final():
    prev, event = _sets()
    sm = mtp.StateMachineInstruction(context=[prev, event], states=["Idle", "Running"])
    sample = sm.add_sample([prev.create_snippet("Idle"), "start"], "Running")
    assert sm.name == "StateMachineInstruction"
    assert sample.output == "Running" and sample.final is mtp.NON
    assert [t.value for t in sm.response.tokens] == ["State_"]
    assert sm.response.tokens[0].desc == "The responses that are acceptable: ['Idle', 'Running']."
    assert sm.rows == (prev, event, sm.response)


def test_the_reference_input_form_builds_the_same_instruction():
    prev, event = _sets()
    seed = mtp.StateMachineInstruction(context=[prev, event], states=["Idle"])
    ref = mtp.StateMachineInstruction(input=_Input([prev, event]), states=["Idle"])
    assert ref.tokensets == seed.tokensets == seed.context and ref.states == seed.states
    assert ref.context == []  # a reference call: context is its background lines (none here)


@pytest.mark.parametrize("states, error", [
    (None, mtp.InstructionTypeError), (["Idle", "Idle"], mtp.InstructionError),
    (["two\nlines"], mtp.InstructionError), ([3], mtp.InstructionTypeError), ("Idle", mtp.InstructionTypeError),
])
def test_bad_states_are_refused_with_the_instructions_error(states, error):
    with pytest.raises(error):
        mtp.StateMachineInstruction(context=list(_sets()), states=states)


def test_states_cannot_change_after_creation():
    sm = mtp.StateMachineInstruction(context=list(_sets()), states=["Idle"])
    with pytest.raises(mtp.InstructionError, match="cannot change"):
        sm.states = ("Other",)


def test_a_multi_classifier_keeps_the_label_order_given():
    """Each sample is stored with its labels in the order given, in Python quoting (reference 1.2.8's re-render);
    the model learns the state map's order, the one the template's states list."""
    utterance = mtp.TokenSet(mtp.Token("Utterance"))
    mc = mtp.MultiClassifierInstruction(context=[utterance], state_map={"intent": ["question"], "emotion": ["happy"]},
                                        name="mc")
    a = mc.add_sample(["Is it sunny?"], {"intent": "question", "emotion": "happy"})
    b = mc.add_sample(["Is it?"], '{"emotion": "happy", "intent": "question"}')
    c = mc.add_sample(["Is it!"], "{'intent': 'question', 'emotion': 'happy'}")
    assert a.output == c.output == "{'intent': 'question', 'emotion': 'happy'}"
    assert b.output == "{'emotion': 'happy', 'intent': 'question'}"
    assert {mc.answer(s) for s in (a, b, c)} == {"{'intent': 'question', 'emotion': 'happy'}"}
    assert mtp.authoring.sample_labels(b) == {"emotion": "happy", "intent": "question"}


def test_the_reference_positional_form_takes_background_lines_third():
    utterance = mtp.TokenSet(mtp.Token("Utterance"))
    mc = mtp.MultiClassifierInstruction(_Input([utterance]), {"emotion": ["happy"]}, ["Classify it."])
    assert mc.name == "MultiClassifierInstruction" and mc.background == ["Classify it."]
    assert mc.tokensets == (utterance,) and mc.context == ["Classify it."]


@pytest.mark.parametrize("labels, match", [
    ({"emotion": "happy"}, "missing 'intent'"),
    ({"emotion": "happy", "intent": "q", "x": "y"}, "unknown 'x'"),
    ("not a dict", "not a JSON object"),
    ({"emotion": "happy", "intent": 3}, "must be strings"),
])
def test_a_sample_must_name_every_label_once(labels, match):
    mc = mtp.MultiClassifierInstruction(context=[mtp.TokenSet(mtp.Token("U"))],
                                        state_map={"emotion": ["happy"], "intent": ["q"]})
    with pytest.raises(mtp.InstructionError, match=match):
        mc.add_sample(["text"], labels)


def test_one_protocol_trains_one_kind_of_model():
    prev, event = _sets()
    protocol = mtp.Protocol("sm", inputs=2)
    protocol.add_instruction(mtp.StateMachineInstruction(context=[prev, event], states=["Idle"]))
    assert protocol.model_type == "state_machine"
    with pytest.raises(mtp.StateMachineError, match="exactly one instruction"):
        protocol.add_instruction(mtp.StateMachineInstruction(context=[prev, event], states=["Idle"], name="other"))
    basic = mtp.Instruction(context=[prev, event], response=event, final=mtp.Token("Done"), name="basic")
    with pytest.raises(mtp.StateMachineError, match="one kind of model"):
        protocol.add_instruction(basic)
    generative = mtp.Protocol("g", inputs=1)
    generative.add_instruction(mtp.Instruction(context=[prev], response=event, final=mtp.Token("Done"), name="b"))
    with pytest.raises(mtp.ProtocolTypeError, match="'multi_classifier' model"):
        generative.add_instruction(mtp.MultiClassifierInstruction(context=[prev], state_map={"a": ["x"]}))
