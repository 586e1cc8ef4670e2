"""Protocol: building, add_instruction's checks, and saving (names, directories, atomicity)."""

from __future__ import annotations

import json

import pytest

import model_train_protocol as mtp
from core_helpers import assert_files_valid, small_protocol
from model_train_protocol.jsonio import _atomic


@pytest.mark.parametrize("args, error", [
    ((1, 2), mtp.ProtocolTypeError),
    (("", 2), mtp.ProtocolError),
    (("   ", 2), mtp.ProtocolError),
    (("p", "2"), mtp.ProtocolTypeError),
    (("p", True), mtp.ProtocolTypeError),
    (("p", 0), mtp.ProtocolError),
    (("p", 2.0), mtp.ProtocolTypeError),
])
def test_constructor_refuses_bad_arguments(args, error):
    with pytest.raises(error):
        mtp.Protocol(*args)


def test_constructor_defaults():
    protocol = mtp.Protocol(name="p", inputs=2)
    assert protocol.encrypt is True and protocol.context == [] and protocol.instructions == []
    with pytest.raises(mtp.ProtocolTypeError):
        mtp.Protocol("p", 2, encrypt="yes")
    assert repr(protocol) == "Protocol(name='p', inputs=2, instructions=0)"


def test_add_context_needs_a_string():
    protocol = mtp.Protocol("p", 2)
    protocol.add_context("a line")
    assert protocol.context == ["a line"]
    with pytest.raises(mtp.ProtocolTypeError):
        protocol.add_context(42)


def test_add_instruction_checks():
    protocol = small_protocol()
    basic = protocol.instructions[0]
    with pytest.raises(mtp.ProtocolTypeError):
        protocol.add_instruction("basic")
    with pytest.raises(mtp.InstructionError, match="already added"):
        protocol.add_instruction(basic)
    twin = mtp.Instruction(context=list(basic.context), response=basic.response, final=basic.finals, name="basic")
    with pytest.raises(mtp.InstructionError, match="names must be unique"):
        protocol.add_instruction(twin)
    three = mtp.Instruction(context=list(basic.context) * 2 + [basic.context[0]], response=basic.response,
                            final=basic.finals, name="three")
    with pytest.raises(mtp.InstructionError, match=r"has 5 input line\(s\) but protocol 'small' has inputs=2"):
        protocol.add_instruction(three)
    extended = mtp.ExtendedInstruction(context=[basic.context[1]], final=basic.finals[0], name="short")
    with pytest.raises(mtp.InstructionError, match="0 input line.*plus the user's prompt TokenSet last"):
        protocol.add_instruction(extended)
    assert [i.name for i in protocol.instructions] == ["basic", "extended"]


def test_save_and_template_default_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    protocol = small_protocol()
    assert protocol.save() == tmp_path / "small_model.json"
    assert protocol.template() == tmp_path / "small_template.json"
    assert_files_valid(tmp_path / "small_model.json", tmp_path / "small_template.json")


def test_save_name_changes_only_the_file_name(tmp_path):
    path = small_protocol().save(name="other", path=tmp_path)
    assert path.name == "other_model.json"
    assert json.loads(path.read_text(encoding="utf-8"))["name"] == "small"


def test_missing_directories_are_created_for_both_files(tmp_path):
    protocol = small_protocol()
    model = protocol.save(path=tmp_path / "a" / "b")
    template = protocol.template(path=str(tmp_path / "c" / "d"))
    assert model.is_file() and template.is_file()


@pytest.mark.parametrize("name", ["", "   ", "../x", "a/b", "a\\b", ".", "..", " x", "x\0"])
def test_names_that_are_empty_or_escape_the_directory_are_refused(tmp_path, name):
    with pytest.raises(mtp.MTPError):
        small_protocol().save(name=name, path=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_protocol_name_that_escapes_is_refused_for_the_template(tmp_path):
    protocol = small_protocol()
    protocol.name = "../evil"
    with pytest.raises(mtp.ProtocolError):
        protocol.template(path=tmp_path / "inner")
    assert not (tmp_path / "evil_template.json").exists()


def test_wrong_path_types_are_refused(tmp_path):
    with pytest.raises(mtp.ProtocolTypeError):
        small_protocol().save(path=42)
    with pytest.raises(mtp.ProtocolTypeError):
        small_protocol().save(name=7, path=tmp_path)


def _old_files(tmp_path):
    model, template = tmp_path / "small_model.json", tmp_path / "small_template.json"
    model.write_text("old model", encoding="utf-8")
    template.write_text("old template", encoding="utf-8")
    return model, template


def _assert_untouched(tmp_path, model, template):
    assert model.read_text(encoding="utf-8") == "old model"
    assert template.read_text(encoding="utf-8") == "old template"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small_model.json", "small_template.json"]


def test_invalid_protocol_leaves_old_files(tmp_path):
    model, template = _old_files(tmp_path)
    protocol = small_protocol()
    protocol.context.clear()
    with pytest.raises(mtp.MTPValidationError):
        protocol.save(path=tmp_path)
    with pytest.raises(mtp.MTPValidationError):
        protocol.template(path=tmp_path)
    _assert_untouched(tmp_path, model, template)


def test_failed_rename_leaves_old_files_and_no_temp_files(tmp_path, monkeypatch):
    model, template = _old_files(tmp_path)

    def fail(*args):
        raise OSError("rename failed")

    monkeypatch.setattr(_atomic.os, "replace", fail)
    protocol = small_protocol()
    with pytest.raises(OSError, match="rename failed"):
        protocol.save(path=tmp_path)
    with pytest.raises(OSError, match="rename failed"):
        protocol.template(path=tmp_path)
    _assert_untouched(tmp_path, model, template)


def test_encoding_failure_leaves_old_files(tmp_path):
    model, template = _old_files(tmp_path)
    protocol = small_protocol()
    protocol.instructions[0].samples[0] = protocol.instructions[0].samples[0].__class__(
        protocol.instructions[0].samples[0].inputs, "broken \udc80 text", protocol.instructions[0].samples[0].final)
    with pytest.raises(mtp.MTPValueError, match="unpaired surrogate"):
        protocol.save(path=tmp_path)
    _assert_untouched(tmp_path, model, template)


def test_save_overwrites_a_previous_file(tmp_path):
    model, _ = _old_files(tmp_path)
    small_protocol().save(path=tmp_path)
    assert json.loads(model.read_text(encoding="utf-8"))["name"] == "small"
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_to_json_and_template_json_validate_first():
    protocol = mtp.Protocol("p", 2)
    with pytest.raises(mtp.MTPValidationError):
        protocol.to_json()
    with pytest.raises(mtp.MTPValidationError):
        protocol.template_json()
    assert small_protocol().to_json()["name"] == "small"


def test_key_map_follows_encrypt():
    cat = mtp.Token("Cat")
    assert mtp.Protocol("a", 2, encrypt=True).key_map()(cat) == "50f7dd"
    assert mtp.Protocol("b", 2, encrypt=False).key_map()(cat) == "Cat_"
    assert cat.key is None  # keys are never stored on the shared token
