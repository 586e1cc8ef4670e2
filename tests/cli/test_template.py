"""``mtp template``: the template file written again from a model file."""

from __future__ import annotations

import json
from pathlib import Path

import model_train_protocol as mtp_lib
from model_train_protocol.examples.cheshire_cat import build_protocol

from .mtp_runner import assert_clean_error, model_file, mtp  # noqa: F401


def test_writes_the_loaded_protocols_template(model_file: Path, tmp_path: Path) -> None:
    proc = mtp("template", model_file, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "cheshire_cat_template.json"
    assert str(written) in proc.stdout
    expected = mtp_lib.Protocol.load(model_file).template(path=tmp_path / "library")
    assert written.read_bytes() == expected.read_bytes()
    original = json.loads(model_file.with_name("cheshire_cat_template.json").read_text(encoding="utf-8"))
    regenerated = json.loads(written.read_text(encoding="utf-8"))
    assert regenerated["tokens"] == original["tokens"]  # names of 0.3.2 instructions are not stored in the file


def test_default_directory_is_the_model_files(tmp_path: Path) -> None:
    model = build_protocol().save(path=tmp_path)
    proc = mtp("template", model)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cheshire_cat_template.json").is_file()


def test_versions(model_file: Path, tmp_path: Path) -> None:
    for version, expected in (("2.0.1", "template_2_1_0"), ("2.1.0", "template_2_1_0"), ("1.2.1", "template_1_2_0")):
        proc = mtp("template", model_file, "--out", tmp_path / version, "--version", version)
        assert proc.returncode == 0, proc.stderr
        document = json.loads((tmp_path / version / "cheshire_cat_template.json").read_text(encoding="utf-8"))
        assert document["$schema"].endswith(f"/{expected}.json")


def test_bad_version(model_file: Path, tmp_path: Path) -> None:
    line = assert_clean_error(mtp("template", model_file, "--out", tmp_path, "--version", "7.7.7"))
    assert "7.7.7" in line
    assert not list(tmp_path.iterdir())
