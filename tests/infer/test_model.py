"""``Model.load`` on a directory laid out as `mtp train` writes it, and the Python chat API."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.errors import MTPFileError  # noqa: E402
from model_train_protocol.infer import Model  # noqa: E402


def test_load_knows_instructions_user_lines_and_answer_budget(protocol, make_model_dir, tmp_path):
    model = Model.load(make_model_dir(protocol, tmp_path / "m"))
    assert model.instructions == [i.name for i in protocol.instructions]
    assert model.protocol is None and model.runtime.name == protocol.name  # all read from runtime.json
    assert model.spec("alice_asks_the_cat").user_lines == (False, True, True)
    longest = max(len(model.vocab.encode(s.output)) for i in protocol.instructions for s in i.samples)
    assert model.max_text_tokens >= 2 * longest


def test_python_chat_answers_and_remembers(make_model_dir, tmp_path):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = Model.load(make_model_dir(build_protocol(), tmp_path / "m"), max_text_tokens=4)
    session = model.chat("alice_asks_the_cat", ["We're all mad here.", "Hello.", ""])
    first = session.send("Which way should I go?")
    assert session.lines("And then?") [1:] == (["Which way should I go?", "And then?"] if not first.guardrail
                                                else ["Hello.", "And then?"])
    assert session.send("And then?").instruction == "alice_asks_the_cat"


def test_a_modified_directory_is_refused(make_model_dir, tmp_path):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    out = make_model_dir(build_protocol(), tmp_path / "m")
    (out / "mtp_template.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MTPFileError, match="checksum"):
        Model.load(out)
