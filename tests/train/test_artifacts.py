"""The output directory: standard HF files, the protocol files, a manifest that checks every byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
jsonschema = pytest.importorskip("jsonschema")

from model_train_protocol.errors import MTPFileError
from model_train_protocol.jsonio import dumps
from model_train_protocol.train import load_trained, verify_dir
from model_train_protocol.model_dir import MANIFEST, protocol_sha256, sha256_file

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "train" / "model_1_0_0.json"


@pytest.fixture
def copy(trained_dir, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(trained_dir, target)
    return target


def test_directory_layout(trained_dir):
    names = {p.name for p in trained_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "mtp_model.json",
            "mtp_template.json", "loss_curve.png", MANIFEST} <= names
    assert "checkpoints" not in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pkl"))]
    assert (trained_dir / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_protocol_files_are_the_librarys_own(trained_dir, protocol):
    assert (trained_dir / "mtp_model.json").read_text(encoding="utf-8") == dumps(protocol.to_json())
    assert (trained_dir / "mtp_template.json").read_text(encoding="utf-8") == dumps(protocol.template_json())


def test_manifest_fields_checksums_and_reference_schema(trained_dir, protocol):
    manifest = json.loads((trained_dir / MANIFEST).read_text(encoding="utf-8"))
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text(encoding="utf-8")))
    listed = {f["path"]: f["checksum"] for f in manifest["files"]}
    on_disk = {p.name for p in trained_dir.iterdir() if p.name != MANIFEST}
    assert set(listed) == on_disk
    for path, checksum in listed.items():
        assert checksum == "sha256:" + sha256_file(trained_dir / path)
    mtp = manifest["mtp"]
    assert mtp["protocol_sha256"] == protocol_sha256(protocol)
    assert mtp["settings"]["base"] == "scratch" and mtp["settings"]["max_steps"] == 3
    assert mtp["metrics"]["steps"] == 3
    assert "<RUN>" in mtp["structural_tokens"]


def test_load_trained_returns_model_tokenizer_template_manifest(trained_dir, protocol):
    loaded = load_trained(trained_dir, device="cpu")
    assert list(loaded.template["instructions"]) == [i.name for i in protocol.instructions]
    assert loaded.model_file == protocol.to_json()
    assert loaded.manifest["name"] == "cheshire_cat"
    assert not loaded.model.training
    assert loaded.model.get_input_embeddings().num_embeddings >= len(loaded.tokenizer)
    assert loaded.tokenizer.convert_ids_to_tokens([loaded.model.generation_config.eos_token_id]) == ["<EOS>"]
    assert len(loaded.tokenizer("<RUN>", add_special_tokens=False)["input_ids"]) == 1


def test_modified_file_is_refused(copy):
    with open(copy / "mtp_template.json", "a", encoding="utf-8") as handle:
        handle.write(" ")
    with pytest.raises(MTPFileError, match="checksum"):
        load_trained(copy)


@pytest.mark.parametrize("name", ["notes.txt", "extra.safetensors"])
def test_unlisted_file_is_refused(copy, name):
    (copy / name).write_text("x")
    with pytest.raises(MTPFileError, match="unexpected file"):
        verify_dir(copy)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "checkpoints/optim.pt", "weights.pkl"])
def test_pickle_files_are_refused_anywhere(copy, name):
    (copy / name).parent.mkdir(exist_ok=True)
    (copy / name).write_bytes(b"\x80\x04N.")
    with pytest.raises(MTPFileError, match="pickle"):
        load_trained(copy)


def test_missing_file_and_missing_manifest(copy):
    (copy / "tokenizer.json").unlink()
    with pytest.raises(MTPFileError, match="missing"):
        verify_dir(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(MTPFileError, match="mtp_manifest.json is missing"):
        load_trained(copy)


def test_manifest_path_escaping_the_directory_is_refused(copy):
    manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"].append({"path": "../outside.json", "checksum": "sha256:00"})
    (copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(MTPFileError, match="leaves the model directory"):
        verify_dir(copy)
