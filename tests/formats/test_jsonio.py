"""MTP JSON text and atomic writes."""

from __future__ import annotations

import os
import stat

import pytest

import model_train_protocol as mtp
from model_train_protocol.jsonio import _atomic
from model_train_protocol.jsonio import dumps, write_atomic


def test_dumps_is_the_mtp_text_format():
    text = dumps({"b": [1, 2.5, None, True], "a": {"é": "🗣"}, "e": [], "f": {}})
    assert text == ('{\n    "b": [\n        1,\n        2.5,\n        null,\n        true\n    ],\n'
                    '    "a": {\n        "é": "🗣"\n    },\n    "e": [],\n    "f": {}\n}')
    assert not text.endswith("\n")


def test_dumps_keeps_insertion_order_and_refuses_nan():
    assert list(__import__("json").loads(dumps({"z": 1, "a": 2}))) == ["z", "a"]
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})


def test_write_atomic_creates_directories_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "a" / "b" / "f.json"
    write_atomic(target, "[]")
    assert target.read_text(encoding="utf-8") == "[]"
    assert os.listdir(target.parent) == ["f.json"]


def test_write_atomic_gives_the_usual_permissions(tmp_path):
    target = tmp_path / "f.json"
    write_atomic(target, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_failed_rename_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_text("old", encoding="utf-8")

    def boom(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(_atomic.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["f.json"]


def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_text("old", encoding="utf-8")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(_atomic.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["f.json"]


def test_unencodable_text_is_a_user_error_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(mtp.MTPValueError, match="unpaired surrogate"):
        write_atomic(target, "bad \ud800 text")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["f.json"]
