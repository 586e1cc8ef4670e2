"""The format's vocabulary: each writer in ``constants`` is read back by the parser beside it."""

from __future__ import annotations

from hypothesis import given, strategies as st

import model_train_protocol as mtp
from model_train_protocol import constants as c

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(st.lists(_TEXT, min_size=1, max_size=6, unique=True))
def test_states_description_reads_back(states):
    assert c.states_from_description(c.states_description(states)) == states


@given(st.dictionaries(_TEXT, st.lists(_TEXT, min_size=1, max_size=4, unique=True), min_size=1, max_size=4))
def test_state_map_description_reads_back(state_map):
    assert c.state_map_from_description(c.state_map_description(state_map)) == state_map


def test_other_descriptions_list_nothing():
    for desc in (None, "", "The Cat", "The responses that are acceptable: ['a'].." , "The responses that are "
                 "acceptable: 'a'.", "The responses that are acceptable: [].", "The responses that are acceptable: [1]."):
        assert c.states_from_description(desc) is None
    assert c.state_map_from_description(c.states_description(["a"])) is None


def test_the_instructions_write_their_descriptions_from_their_data():
    machine = mtp.StateMachineInstruction(context=[mtp.TokenSet(mtp.Token("Seen"))], states=["Idle", "Run"])
    assert machine.response.tokens[0].value == c.token_value(c.STATE_TOKEN_NAME) == "State_"
    assert c.states_from_description(machine.response.tokens[0].desc) == ["Idle", "Run"]
    classifier = mtp.MultiClassifierInstruction(context=[mtp.TokenSet(mtp.Token("Seen"))], state_map={"mood": ["ok"]})
    assert classifier.response.tokens[0].value == "States_"
    assert c.state_map_from_description(classifier.response.tokens[0].desc) == {"mood": ["ok"]}


@given(st.integers(-10**6, 10**6), st.integers(0, 10**6), st.one_of(st.none(), st.integers(1, 99)))
def test_number_placeholders_read_back(low, span, length):
    text = c.number_placeholder(low, low + span, length)
    match = c.NUM_PLACEHOLDER.fullmatch(text)
    assert match is not None and match.groups() == (str(low), str(low + span), None if length is None else str(length))


def test_token_types_and_values():
    assert c.token_type(number=False, number_list=False, final=False) in c.DECLARED_TOKEN_TYPES
    written = {c.token_type(number=n, number_list=nl, final=f) for n in (False, True) for nl in (False, True)
               for f in (False, True)}
    assert written == c.DECLARED_TOKEN_TYPES
    assert c.token_name(c.token_value("Cat")) == "Cat" and c.token_name("_") is None and c.token_name("Cat") is None
    assert tuple(mtp.authoring.SPECIAL_TOKENS) == c.SPECIAL_STRINGS
    assert {t.file_type for t in mtp.authoring.SPECIAL_TOKENS.values()} == c.SPECIAL_TOKEN_TYPES
