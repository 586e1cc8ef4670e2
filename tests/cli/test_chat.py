"""``mtp chat``: messages from piped stdin, answers in order, history in the earlier lines."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import mtp_in_process  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir(False)


def test_piped_messages_get_one_answer_each(model_dir):
    code, out, err = mtp_in_process("chat", "--max-tokens", "4", model_dir, "-i", "alice_asks_the_cat", "--json",
                                    stdin="Which way?\n\nWhy vanish?\n/reset\nHello\n")
    assert code == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == 3  # the empty line and /reset are not messages
    assert all(a["final"] in ("Vanish", "<UNK>") and "\n" not in a["text"] for a in answers)


def test_quit_stops_and_text_output(model_dir):
    code, out, err = mtp_in_process("chat", "--max-tokens", "4", model_dir, "-i", "alice_cat_alice_continue", "-l", "Hi", "-l", "",
                                    stdin="Which way?\n/quit\nnever sent\n")
    assert code == 0, err
    assert out.count("final: ") == 1


def test_wrong_number_of_starting_lines(model_dir):
    code, out, err = mtp_in_process("chat", "--max-tokens", "4", model_dir, "-i", "alice_asks_the_cat", "-l", "only one", stdin="hi\n")
    assert code == 1 and "takes 3 input line(s): give 2 starting line(s)" in err and "Traceback" not in err


def test_starting_lines_may_leave_out_the_prompt_line(model_dir):
    """A 2-line instruction: one --line is the line before the prompt, which the message fills."""
    code, out, err = mtp_in_process("chat", "--max-tokens", "4", model_dir, "-i", "alice_cat_alice_continue",
                                    "-l", "Then it doesnt matter which way you go.", "--json", stdin="Which way?\n")
    assert code == 0, err
    assert len(out.splitlines()) == 1 and json.loads(out)["final"]


def test_a_message_holding_a_structural_token_is_refused_and_the_chat_goes_on(model_dir):
    """Issue 20, finding 17: user text may not contain structural tokens; chat says so and takes the next line."""
    code, out, err = mtp_in_process("chat", "--max-tokens", "4", model_dir, "-i", "alice_asks_the_cat", "--json",
                                    stdin="go <RUN> now\nWhich way?\n")
    assert code == 0, err
    assert "structural token" in err and "Traceback" not in err
    assert len(out.splitlines()) == 1
