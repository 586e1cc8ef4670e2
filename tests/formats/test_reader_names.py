"""Protocol.load takes instruction names back from the template saved beside a bloom 0.3.x model file."""

from __future__ import annotations

import json
import shutil

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol

NAMES = ["alice_cat_alice_continue", "alice_cat_alice_appear_disappear", "alice_cat_alice_instruction_numeric",
         "alice_asks_the_cat"]


def names(protocol: mtp.Protocol) -> list[str]:
    return [i.name for i in protocol.instructions]


def test_names_come_back_from_the_sibling_template(tmp_path):
    protocol = build_protocol()
    model = protocol.save(path=tmp_path)
    protocol.template(path=tmp_path)
    assert names(mtp.Protocol.load(model)) == NAMES


def test_save_name_is_followed_to_the_template(tmp_path):
    protocol = build_protocol()
    model = protocol.save(name="renamed", path=tmp_path)
    (tmp_path / "renamed_template.json").write_bytes(protocol.template(path=tmp_path).read_bytes())
    (tmp_path / "cheshire_cat_template.json").unlink()
    assert names(mtp.Protocol.load(model)) == NAMES


def test_without_a_template_names_are_generated(tmp_path):
    model = build_protocol().save(path=tmp_path)
    assert names(mtp.Protocol.load(model)) == [f"instruction_{i}" for i in range(4)]


def test_a_template_of_other_instructions_is_ignored(tmp_path):
    protocol = build_protocol()
    model = protocol.save(path=tmp_path)
    template = protocol.template(path=tmp_path)
    document = json.loads(template.read_text(encoding="utf-8"))
    first = next(iter(document["instructions"].values()))
    first["input"][1] = "Something_\n<string>\n"  # no longer what the model file renders
    template.write_text(json.dumps(document), encoding="utf-8")
    assert names(mtp.Protocol.load(model)) == [f"instruction_{i}" for i in range(4)]
    template.write_text("{ not json", encoding="utf-8")
    assert names(mtp.Protocol.load(model)) == [f"instruction_{i}" for i in range(4)]


def test_names_stored_in_the_file_win(tmp_path):
    protocol = build_protocol()
    model = protocol.save(path=tmp_path, version="2.0.1")
    other = build_protocol()
    for i, instruction in enumerate(other.instructions):
        instruction.name = f"other_{i}"
    other.template(path=tmp_path)
    assert names(mtp.Protocol.load(model)) == NAMES


def test_names_do_not_change_the_saved_bytes(tmp_path):
    protocol = build_protocol()
    model = protocol.save(path=tmp_path)
    protocol.template(path=tmp_path)
    before = model.read_bytes()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(model, copy / model.name)
    assert mtp.Protocol.load(model).save(path=copy).read_bytes() == before
