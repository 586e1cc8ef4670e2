"""``mtp convert``: a model file rewritten in another version, loading back to the same protocol."""

from __future__ import annotations

import json
from pathlib import Path

import model_train_protocol as mtp_lib

from .mtp_runner import assert_clean_error, model_file, mtp  # noqa: F401


def test_convert_round_trip(model_file: Path, tmp_path: Path) -> None:
    for version, schema in (("1.2.1", "v1/bloom_1_2_1"), ("2.0.1", "v2/bloom_2_0_1")):
        out = tmp_path / version
        proc = mtp("convert", model_file, "--to", version, "--out", out)
        assert proc.returncode == 0, proc.stderr
        converted = out / "cheshire_cat_model.json"
        assert json.loads(converted.read_text(encoding="utf-8"))["$schema"].endswith(f"/{schema}.json")
        again = mtp_lib.Protocol.load(converted)
        assert again.version == version  # a loaded file saves (and trains) in its own layout by default
        back = again.save(path=out / "back", version="0.3.2")
        assert back.read_bytes() == model_file.read_bytes()


def test_refuses_to_overwrite_its_input(model_file: Path) -> None:
    before = model_file.read_bytes()
    line = assert_clean_error(mtp("convert", model_file, "--to", "2.0.1", "--out", model_file.parent), code=2)
    assert "--force" in line
    assert model_file.read_bytes() == before


def test_unknown_version(model_file: Path, tmp_path: Path) -> None:
    line = assert_clean_error(mtp("convert", model_file, "--to", "0.9", "--out", tmp_path))
    assert "0.9" in line and "supported" in line


def test_missing_option(model_file: Path) -> None:
    proc = mtp("convert", model_file)
    assert proc.returncode == 2 and "--to" in proc.stderr and "Traceback" not in proc.stderr


def test_a_newer_layout_may_not_fit_an_older_one(tmp_path: Path) -> None:
    protocol = mtp_lib.Protocol(name="one", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    ask = mtp_lib.Instruction(context=[mtp_lib.TokenSet(mtp_lib.Token("Ask"))],
                              response=mtp_lib.TokenSet(mtp_lib.Token("Say")), final=mtp_lib.Token("End"), name="ask")
    for i in range(3):
        ask.add_sample([f"q{i}"], f"a{i}")
    protocol.add_instruction(ask)
    model = protocol.save(path=tmp_path, version="2.0.1")
    line = assert_clean_error(mtp("convert", model, "--to", "0.3.2", "--out", tmp_path / "old"))
    assert "cannot be written as version 0.3.2" in line and "protocol.inputs" in line
    assert mtp("convert", model, "--to", "1.2.1", "--out", tmp_path / "v1").returncode == 0
    assert mtp("export", model, "-f", "text", "-o", tmp_path / "data").returncode == 0  # exports need no layout


def test_state_machines_convert_between_the_layouts_that_hold_them(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "reference" / "v0.5.6" / "sm_model.json"  # bloom 1.1.0, no marker
    previous = source
    for version in ("1.2.0", "2.0.1", "1.1.0"):
        out = tmp_path / version
        proc = mtp("convert", previous, "--to", version, "--out", out)
        assert proc.returncode == 0, proc.stderr
        previous = out / "sm_model.json"
        doc = json.loads(previous.read_text(encoding="utf-8"))
        assert mtp_lib.Protocol.load(previous).model_type == "state_machine"
    own = mtp_lib.Protocol.load(source).save(path=tmp_path / "own", version="1.1.0")
    assert previous.read_bytes() == own.read_bytes()
    assert "state_machine" not in doc and "model_type" not in doc
    line = assert_clean_error(mtp("convert", source, "--to", "0.3.2", "--out", tmp_path / "old"))
    assert "cannot be written as version 0.3.2" in line and "protocol.layout-model-type" in line


def test_multi_classifiers_only_convert_to_bloom_2(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "reference" / "v1.2.8" / "mc_model.json"
    assert mtp("convert", source, "--to", "2.0.0", "--out", tmp_path / "v2").returncode == 0
    for version in ("1.2.1", "0.3.2"):
        line = assert_clean_error(mtp("convert", source, "--to", version, "--out", tmp_path / version))
        assert f"cannot be written as version {version}" in line and "'2.0.0', '2.0.1'" in line
