"""Chat history fills the instruction's earlier lines by side (user lines get user turns)."""

from __future__ import annotations

import pytest

from model_train_protocol.errors import MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.infer import fill_history, instruction_specs


@pytest.fixture
def specs():
    protocol = build_protocol()
    return instruction_specs(protocol.template_json(), protocol)


def test_first_message_keeps_the_starting_lines(specs):
    spec = specs["alice_asks_the_cat"]  # lines: Cat, Alice, Alice's prompt
    assert fill_history(spec, ["cat0", "alice0", ""], [], "Q1") == ["cat0", "alice0", "Q1"]


def test_history_fills_lines_of_the_same_side_newest_first(specs):
    spec = specs["alice_asks_the_cat"]
    history = [(True, "Q1"), (False, "A1"), (True, "Q2"), (False, "A2")]
    assert fill_history(spec, ["", "", ""], history, "Q3") == ["A2", "Q2", "Q3"]


def test_basic_instruction_prompt_is_the_last_user_line(specs):
    spec = specs["alice_cat_alice_continue"]  # lines: Cat, Alice
    assert fill_history(spec, ["start", ""], [(True, "Q1"), (False, "A1")], "Q2") == ["A1", "Q2"]


def test_without_user_flags_sides_alternate_back_from_the_prompt():
    spec = instruction_specs(build_protocol().template_json())["alice_asks_the_cat"]
    history = [(True, "Q1"), (False, "A1"), (True, "Q2"), (False, "A2")]
    assert fill_history(spec, ["", "", ""], history, "Q3") == ["Q2", "A2", "Q3"]


def test_session_keeps_history_and_skips_refusals(specs):
    from model_train_protocol.infer import Answer, ChatSession

    class FakeModel:
        def __init__(self):
            self.calls = []

        def run(self, name, lines, numbers, **options):
            self.calls.append(list(lines))
            refused = lines[-1] == "off topic"
            return Answer(text=f"re:{lines[-1]}", final="<UNK>" if refused else "Vanish",
                          final_key="<UNK>" if refused else "Vanish_", guardrail=refused)

    model = FakeModel()
    session = ChatSession(model, specs["alice_asks_the_cat"])
    session.send("Q1")
    session.send("off topic")
    session.send("Q2")
    assert model.calls == [["", "", "Q1"], ["re:Q1", "Q1", "off topic"], ["re:Q1", "Q1", "Q2"]]
    assert session.history == [(True, "Q1"), (False, "re:Q1"), (True, "Q2"), (False, "re:Q2")]


def test_session_needs_a_line_per_template_line(specs):
    from model_train_protocol.infer import ChatSession

    with pytest.raises(MTPValueError, match="takes 3 input line"):
        ChatSession(object(), specs["alice_asks_the_cat"], ["only one"])


def test_session_takes_every_line_but_the_prompt_line(specs):
    """Starting lines may leave out the prompt line, which each message fills (one line for a 2-line instruction)."""
    from model_train_protocol.infer import ChatSession

    spec = specs["alice_cat_alice_continue"]
    session = ChatSession(object(), spec, ["Then it doesnt matter which way you go."])
    assert session.lines("Which way?") == ["Then it doesnt matter which way you go.", "Which way?"]
    three = ChatSession(object(), specs["alice_asks_the_cat"], ["a", "b"])
    assert three.lines("m") == ["a", "b", "m"]
