"""Training settings under attack (issue 20): a YAML alias bomb, infinite and absurd float settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_train_protocol.train import TrainConfig, TrainConfigError, read_config_file

#: About 400 bytes of YAML whose last alias is a list of 10⁹ (shared) elements: its repr never finishes.
BILLION_LAUGHS = "KEY:\n" + "".join(
    f"  {name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi"))


@pytest.mark.parametrize("key", ["lr", "out", "epochs"])
def test_a_yaml_alias_bomb_is_a_short_error(tmp_path: Path, key: str) -> None:
    """Finding 6: `mtp train --config` hung formatting the 10⁹-element value into its error message."""
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS.replace("KEY", key), encoding="utf-8")
    with pytest.raises(TrainConfigError) as caught:
        read_config_file(path)
    assert len(str(caught.value)) < 400 and repr(key) in str(caught.value)


@pytest.mark.parametrize("setting", [{"lr": float("inf")}, {"lr": 1e308}, {"lr": float("nan")}, {"lr": 2.0},
                                     {"weight_decay": float("inf")}, {"grad_clip": float("nan")},
                                     {"lora_dropout": float("inf")}, {"min_delta": float("-inf")}])
def test_float_settings_must_be_finite_and_in_range(setting) -> None:
    """Finding 8: `--lr inf` / `1e308` / `lr: .inf` passed the check and crashed after a whole training run."""
    name = next(iter(setting))
    with pytest.raises(TrainConfigError, match=f"{name} must be a finite number"):
        TrainConfig(base="scratch", **setting)


def test_infinite_lr_in_a_config_file_is_refused_before_training(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("lr: .inf\n", encoding="utf-8")
    with pytest.raises(TrainConfigError, match="lr must be a finite number"):
        TrainConfig(base="scratch", **read_config_file(path))
