"""Training settings from YAML and TOML files: keys from TrainConfig, types checked, flags override the file."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from model_train_protocol.train import TrainConfig, TrainConfigError, config_values, dump_config, read_config_file

from .test_cli import MTP, TINY, _mtp, model_file  # noqa: F401


def test_every_field_is_a_key_and_cli_spellings_are_accepted() -> None:
    values = config_values({"layers": 3, "width": 64, "heads": 2, "check": 0, "context": False, "max-steps": 5,
                            "lora_r": 4, "weight_decay": 0.1, "out": "run"})
    assert values == {"n_layer": 3, "n_embd": 64, "n_head": 2, "check_examples": 0, "context_text": False,
                      "max_steps": 5, "lora_r": 4, "weight_decay": 0.1, "out": "run"}
    every = {f.name: getattr(TrainConfig(), f.name) for f in fields(TrainConfig)}
    assert config_values(every) == every  # a field added to TrainConfig is a key at once


@pytest.mark.parametrize("data, message", [
    ({"epoch": 3}, "unknown key 'epoch'"),
    ({"epochs": "many"}, "'epochs' must be int"),
    ({"lr": "fast"}, "'lr' must be float or null"),
    ({"lora": "yes"}, "'lora' must be bool"),
    ({"epochs": True}, "'epochs' must be int"),
    ({"layers": 2, "n_layer": 3}, "set twice"),
    (["epochs", 3], "must hold a mapping"),
])
def test_bad_files_are_clear_errors(data, message) -> None:
    with pytest.raises(TrainConfigError, match=message):
        config_values(data)


def test_yaml_and_toml_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("epochs: 3\nlr: 0.001\nmax_steps: null\nout: here\n", encoding="utf-8")
    (tmp_path / "run.toml").write_text('epochs = 3\nlr = 1e-3\nout = "here"\n', encoding="utf-8")
    assert read_config_file(tmp_path / "run.yaml") == {"epochs": 3, "lr": 0.001, "max_steps": None, "out": "here"}
    (tmp_path / "exp.yaml").write_text("lr: 1e-3\nweight_decay: 0\n", encoding="utf-8")  # YAML 1.1: "1e-3" is a str
    assert read_config_file(tmp_path / "exp.yaml") == {"lr": 0.001, "weight_decay": 0.0}
    assert read_config_file(tmp_path / "run.toml") == {"epochs": 3, "lr": 0.001, "out": "here"}
    (tmp_path / "run.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TrainConfigError, match=r"\.yaml, \.yml or \.toml"):
        read_config_file(tmp_path / "run.json")
    (tmp_path / "bad.toml").write_text("epochs = = 3", encoding="utf-8")
    with pytest.raises(TrainConfigError, match="not valid TOML"):
        read_config_file(tmp_path / "bad.toml")


def test_dump_reads_back_to_the_same_config(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    config = TrainConfig(epochs=7, lr=0.02, lora_r=4, threads=2, context_text=False)
    (tmp_path / "saved.yaml").write_text(dump_config(config), encoding="utf-8")
    assert TrainConfig(**read_config_file(tmp_path / "saved.yaml")) == config


def _settings(out: Path) -> dict:
    return json.loads((out / "mtp_manifest.json").read_text(encoding="utf-8"))["mtp"]["settings"]


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_cli_reads_the_file_and_flags_override_it(model_file, tmp_path: Path, suffix: str) -> None:  # noqa: F811
    pytest.importorskip("torch")
    out = tmp_path / "run-out"
    if suffix == ".yaml":
        text = f"out: {json.dumps(str(out))}\nbase: scratch\nseed: 1\nwidth: 32\nheads: 2\nlayers: 1\nvocab_size: 300\n" \
               "max_steps: 2\nprogress: false\ncheck_examples: 0\nwarmup_steps: 1\n"
    else:
        text = f"out = {json.dumps(str(out))}\nbase = \"scratch\"\nseed = 1\nn_embd = 32\nn_head = 2\nn_layer = 1\nvocab-size = 300\n" \
               "max_steps = 2\nprogress = false\ncheck = 0\nwarmup_steps = 1\n"
    config = tmp_path / f"run{suffix}"
    config.write_text(text, encoding="utf-8")
    run = _mtp("train", model_file, "--config", config, "--seed", "3", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["steps"] == 2
    settings = _settings(out)
    assert settings["seed"] == 3 and settings["n_embd"] == 32 and settings["warmup_steps"] == 1
    assert (out / "train_config.yaml").is_file()
    if suffix == ".toml":
        return
    rerun = _mtp("train", model_file, "--config", out / "train_config.yaml", "--out", tmp_path / "again", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert _settings(tmp_path / "again")["seed"] == 3


def test_cli_config_errors_are_one_line(model_file, tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n", encoding="utf-8")
    run = _mtp("train", model_file, "--config", bad, "--out", tmp_path / "o")
    assert run.returncode == 1 and "unknown key 'epoch'" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    run = _mtp("train", model_file, *TINY)
    assert run.returncode == 2 and "--out" in run.stderr and "Traceback" not in run.stderr
