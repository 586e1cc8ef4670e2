"""Input limits: special files and absurd sizes refused before reading; what JSON allows but MTP files may not hold."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.errors import MTPFileError, MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.text import check_text, file_name_problem
from model_train_protocol.jsonio import parse_json, read_json_file, read_limited


@pytest.fixture
def model_doc(tmp_path) -> dict:
    return json.loads(build_protocol().save(path=tmp_path).read_text(encoding="utf-8"))


def write_doc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x_model.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe_model.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, lambda: mtp.Protocol.load(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # unblock the thread so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], MTPFileError) and "FIFO" in str(outcome[0])


def _capture(outcome: list, call) -> None:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        outcome.append(exc)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_reading(device):
    if not Path(device).exists():
        pytest.skip(f"{device} is not available")
    with pytest.raises(MTPFileError, match="character device"):
        mtp.Protocol.load(device)


def test_size_cap_is_configurable(tmp_path, monkeypatch):
    path = build_protocol().save(path=tmp_path)
    size = path.stat().st_size
    monkeypatch.setenv("MTP_MAX_FILE_BYTES", str(size - 1))
    with pytest.raises(MTPFileError, match="over the limit"):
        mtp.Protocol.load(path)
    monkeypatch.setenv("MTP_MAX_FILE_BYTES", str(size))
    assert mtp.Protocol.load(path).name == "cheshire_cat"
    monkeypatch.setenv("MTP_MAX_FILE_BYTES", "lots")
    with pytest.raises(MTPValueError, match="MTP_MAX_FILE_BYTES"):
        read_limited(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(MTPFileError, match="directory"):
        read_json_file(tmp_path)


@pytest.mark.parametrize("text, message", [
    ('{"a": 1, "a": 2}', "appears twice"),
    ('{"a": 1e400}', "too large"),
    ('{"a": -1e400}', "too large"),
    ('{"a": NaN}', "NaN"),
    ('{"a": Infinity}', "Infinity"),
    ('{"a": "x\\u0000y"}', "NUL"),
    ('{"a": "\\ud800"}', "surrogate"),
    ('{"\\udfff": 1}', "surrogate"),
])
def test_json_that_no_mtp_file_may_hold(text, message):
    with pytest.raises(MTPFileError, match=message):
        parse_json(text.encode("utf-8"), "x.json")


def test_escaped_emoji_pairs_and_small_exponents_still_read():
    assert parse_json(b'{"a": "\\ud83d\\ude00", "b": 1e10, "c": 2.5e-300}') == {"a": "\U0001F600", "b": 1e10,
                                                                               "c": 2.5e-300}


def _first_number(node, replace):
    """Replace the first int below a samples' "numbers" or "value" field; True when one was found."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("numbers", "value") and isinstance(value, int) and not isinstance(value, bool):
                node[key] = replace
                return True
            if key == "numbers" and isinstance(value, list):
                for i, row in enumerate(value):
                    if isinstance(row, int):
                        value[i] = replace
                        return True
                    if isinstance(row, list) and row and isinstance(row[0], int):
                        row[0] = replace
                        return True
            if _first_number(value, replace):
                return True
    elif isinstance(node, list):
        return any(_first_number(item, replace) for item in node)
    return False


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.5e308"])
def test_a_number_that_overflows_in_a_snippet_is_a_file_error(tmp_path, model_doc, number):
    """The issue's repro: 1e400 in a snippet number raised OverflowError from the rounding hint."""
    assert _first_number(model_doc["instruction"], "__BIG__")
    path = write_doc(tmp_path, json.dumps(model_doc).replace('"__BIG__"', number))
    with pytest.raises(MTPFileError):
        mtp.Protocol.load(path)


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b"])
def test_bloom_0_3_name_with_a_slash_loads_without_the_sibling_lookup_crashing(tmp_path, model_doc, name):
    model_doc["name"] = name
    for item in model_doc["instruction"]["sets"]:
        item.pop("name", None)  # bloom 0.3.x files carry no instruction names: the sibling template is looked up
    path = write_doc(tmp_path, json.dumps(model_doc))
    protocol = mtp.Protocol.load(path)
    assert protocol.name == name
    assert any(p.rule == "protocol.name" for p in protocol.validate())


def test_strings_from_files_are_checked():
    assert check_text("plain é 🐱", "x") == "plain é 🐱"
    for bad in ("a\0b", "a\ud800"):
        with pytest.raises(MTPValueError):
            check_text(bad, "--line 1")
    assert file_name_problem("cheshire cat") is None
    for bad in ("../x", "/tmp/x", "a\\b", ".", "..", " x", "x" * 201, "a\0"):
        assert file_name_problem(bad) is not None
