"""A trained directory is written whole or not at all: a full disk leaves the earlier model loadable."""

from __future__ import annotations

import errno
import importlib
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.errors import MTPFileError  # noqa: E402
from model_train_protocol.model_dir import STAGING_PREFIX, load_trained, verify_dir  # noqa: E402
from model_train_protocol.train import train  # noqa: E402

from .conftest import tiny  # noqa: E402


def test_a_full_disk_while_saving_leaves_the_earlier_model_intact(trained_dir, tmp_path, protocol, monkeypatch):
    out = tmp_path / "model"
    shutil.copytree(trained_dir, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importlib.import_module("model_train_protocol.train._train"), "save_loss_curve", full_disk)
    with pytest.raises(MTPFileError, match="No space left on device"):
        train(protocol, out, tiny(), force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    verify_dir(out)
    assert load_trained(out, device="cpu").manifest["name"] == "cheshire_cat"


def test_a_staging_folder_of_a_killed_run_is_tolerated_and_cleaned(trained_dir, tmp_path, protocol):
    out = tmp_path / "model"
    shutil.copytree(trained_dir, out)
    stale = out / f"{STAGING_PREFIX}999999999-abc"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"partial")
    verify_dir(out)  # never read, so it does not stop the earlier model from loading
    train(protocol, out, tiny(), force=True)
    assert not stale.exists()
    verify_dir(out)


def test_checkpoints_never_write_through_a_link_at_the_old_temp_name(tmp_path, protocol):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious", encoding="utf-8")
    out = tmp_path / "model"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "last.tmp").symlink_to(victim, target_is_directory=True)
    (out / "checkpoints" / "last.old").symlink_to(victim, target_is_directory=True)
    with pytest.raises(MTPFileError, match="symbolic link"):  # the finished directory refuses the planted links
        train(protocol, out, tiny(checkpoint_every=1, keep_checkpoints=True), force=True)
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert (out / "checkpoints" / "last" / "state.json").is_file()
