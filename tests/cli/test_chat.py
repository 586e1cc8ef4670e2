"""``mtp chat``: messages from piped stdin, answers in order, history in the earlier lines."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .mtp_runner import MTP

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import cheshire, write_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_model_dir(cheshire(False), tmp_path_factory.mktemp("chat") / "model")


def chat(model_dir, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([MTP, "chat", str(model_dir), *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=300)


def test_piped_messages_get_one_answer_each(model_dir):
    proc = chat(model_dir, "Which way?\n\nWhy vanish?\n/reset\nHello\n", "-i", "alice_asks_the_cat", "--json")
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == 3  # the empty line and /reset are not messages
    assert all(a["final"] in ("Vanish", "<UNK>") and "\n" not in a["text"] for a in answers)


def test_quit_stops_and_text_output(model_dir):
    proc = chat(model_dir, "Which way?\n/quit\nnever sent\n", "-i", "alice_cat_alice_continue", "-l", "Hi", "-l", "")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("final: ") == 1
    assert "Traceback" not in proc.stderr


def test_wrong_number_of_starting_lines(model_dir):
    proc = chat(model_dir, "hi\n", "-i", "alice_asks_the_cat", "-l", "only one")
    assert proc.returncode == 1 and "takes 3 input line" in proc.stderr and "Traceback" not in proc.stderr
