"""A damaged checkpoint makes --resume fail with one clear error (issue 20, finding 16: it was "internal error")."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("torch")

from model_train_protocol.errors import MTPFileError  # noqa: E402
from model_train_protocol.train import train  # noqa: E402

from infer.tiny import mtp_in_process  # noqa: E402
from train.conftest import tiny  # noqa: E402


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    out = tmp_path_factory.mktemp("ckpt") / "run"
    train(build_protocol(), out, tiny(max_steps=4, checkpoint_every=2, keep_checkpoints=True, val_split=0.0))
    return out


def _damage(state: dict, case: str) -> str:
    if case == "not json":
        return "{"
    if case == "list":
        return "[]"
    if case == "step":
        return json.dumps({**state, "step": "three"})
    if case == "losses":
        return json.dumps({**state, "train_losses": [[1]]})
    if case == "optimizer":
        return json.dumps({k: v for k, v in state.items() if k != "optimizer"})
    return json.dumps({**state, "optimizer": {**state["optimizer"], "scalars": {"x": {"step": 1.0}}}})


@pytest.mark.parametrize("case", ["not json", "list", "step", "losses", "optimizer", "scalars"])
def test_a_damaged_state_is_one_clear_error(checkpointed, tmp_path, case):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    run = tmp_path / "run"
    shutil.copytree(checkpointed, run)
    state_file = run / "checkpoints" / "last" / "state.json"
    state_file.write_text(_damage(json.loads(state_file.read_text()), case))
    with pytest.raises(MTPFileError, match="checkpoint|state.json"):
        train(build_protocol(), run, tiny(max_steps=4, resume=True, val_split=0.0), force=True)


def test_mtp_train_resume_on_a_truncated_checkpoint_is_one_line(checkpointed, tmp_path):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model_file = build_protocol().save(path=tmp_path)
    run = tmp_path / "run"
    shutil.copytree(checkpointed, run)
    weights = run / "checkpoints" / "last" / "optimizer.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    code, _, err = mtp_in_process("train", model_file, "--out", run, "--base", "scratch", "--max-steps", "4",
                                  "--resume", "--layers", "1", "--width", "32", "--heads", "2", "--vocab-size", "300",
                                  "--val-split", "0", "--check", "0", "--force")
    assert code == 1 and "internal error" not in err and "checkpoint is damaged" in err
