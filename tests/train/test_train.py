"""The training loop: learning, seeds, early stopping, checkpoints and resume, output-directory rules."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file

from model_train_protocol.errors import MTPFileError, MTPValidationError
from model_train_protocol.train import TrainConfig, TrainConfigError, train
from model_train_protocol.model_dir import MANIFEST

from .conftest import tiny


def _weights(path):
    return load_file(str(path / "model.safetensors"))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_loss_goes_down(protocol, tmp_path):
    result = train(protocol, tmp_path / "m", tiny(max_steps=60, val_split=0.0))
    metrics = json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]["metrics"]
    assert metrics == json.loads(json.dumps(result.metrics))
    assert metrics["steps"] == 60 and metrics["final_train_loss"] < 0.8 * metrics["first_train_loss"]


def test_same_seed_same_weights_other_seed_other_weights(protocol, tmp_path):
    train(protocol, tmp_path / "a", tiny(seed=1))
    train(protocol, tmp_path / "b", tiny(seed=1))
    train(protocol, tmp_path / "c", tiny(seed=2))
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "c"))


@pytest.mark.parametrize("lora", [False, True])
def test_resume_continues_exactly_where_the_checkpoint_was(protocol, tmp_path, trained_dir, lora):
    # LoRA checkpoints hold only the trainable weights: resume reloads the frozen base
    settings = dict(max_steps=6, val_split=0.0, lora_dropout=0.0, **(dict(base=str(trained_dir), lora=True, similarity_refusal=False) if lora else {}))
    train(protocol, tmp_path / "straight", tiny(**settings))
    interrupted = tmp_path / "resumed"
    train(protocol, interrupted, tiny(checkpoint_every=3, keep_checkpoints=True, **settings))
    state = json.loads((interrupted / "checkpoints" / "last" / "state.json").read_text())
    assert state["step"] == 3  # the last checkpoint before the end
    result = train(protocol, interrupted, tiny(resume=True, **settings), force=True)  # it holds the finished model
    assert result.metrics["steps"] == 6
    assert not (interrupted / "checkpoints").exists()
    assert _same(_weights(tmp_path / "straight"), _weights(interrupted))


def test_early_stopping_on_validation_loss(protocol, tmp_path):
    # min_delta larger than any loss: only the first evaluation counts as an improvement
    result = train(protocol, tmp_path / "m", tiny(max_steps=None, epochs=50, patience=2, min_delta=1e9, batch_size=8))
    per_epoch = result.metrics["steps"] // 3
    assert result.metrics["stopped_early"] is True
    assert [h["step"] for h in result.history] == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    assert result.metrics["best_val_loss"] == result.history[0]["val_loss"]


def test_gpt2_layout(protocol, tmp_path):
    train(protocol, tmp_path / "m", tiny(arch="gpt2"))
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model_type"] == "gpt2"


def test_a_trained_model_is_replaced_only_with_force(protocol, tmp_path):
    train(protocol, tmp_path / "m", tiny(seed=1))
    first = _weights(tmp_path / "m")
    with pytest.raises(MTPFileError, match="holds a trained model; pass --force"):
        train(protocol, tmp_path / "m", tiny(seed=2))
    assert _same(first, _weights(tmp_path / "m"))
    train(protocol, tmp_path / "m", tiny(seed=2), force=True)
    assert not _same(first, _weights(tmp_path / "m"))


def test_a_users_checkpoints_folder_is_kept_without_force(protocol, tmp_path):
    """Regression (issue 20, finding 5): a folder holding only checkpoints/ was taken for an earlier run's and
    removed at the end."""
    mine = tmp_path / "m" / "checkpoints" / "epoch-3.pt"
    mine.parent.mkdir(parents=True)
    mine.write_text("mine")
    with pytest.raises(MTPFileError, match="not an interrupted run's; pass --force"):
        train(protocol, tmp_path / "m", tiny())
    assert mine.read_text() == "mine" and not (tmp_path / "m" / "mtp_manifest.json").exists()


def test_an_interrupted_runs_checkpoints_need_no_force(protocol, tmp_path):
    train(protocol, tmp_path / "m", tiny(max_steps=4, checkpoint_every=2, keep_checkpoints=True))
    (tmp_path / "m" / "mtp_manifest.json").unlink()  # as a run stopped before the end leaves it
    for path in list((tmp_path / "m").iterdir()):
        if path.is_file():
            path.unlink()
    result = train(protocol, tmp_path / "m", tiny(max_steps=4, resume=True))
    assert result.metrics["steps"] == 4 and not (tmp_path / "m" / "checkpoints").exists()


def test_foreign_directory_is_refused(protocol, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(MTPFileError, match="did not write"):
        train(protocol, tmp_path, tiny())
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_invalid_protocol_is_refused(tmp_path):
    import model_train_protocol as mtp

    with pytest.raises(MTPValidationError):
        train(mtp.Protocol(name="empty", inputs=1), tmp_path / "m", tiny())


@pytest.mark.parametrize("bad", [dict(val_split=1.0), dict(arch="rnn"), dict(n_embd=30, n_head=4),
                                 dict(base="scratch", lora=True), dict(max_steps=0), dict(device="tpu"),
                                 dict(base="/no/such/model"), dict(epochs=0), dict(base_layers=0),
                                 dict(max_false_refusals=1.0), dict(threshold_cap=1.5),
                                 dict(precision="fp16")])
def test_bad_settings(bad):
    with pytest.raises(TrainConfigError):
        TrainConfig(**bad)


def test_overrides_and_default_recipes():
    from model_train_protocol.train import PRETRAINED_RECIPE, SCRATCH_RECIPE

    default = TrainConfig()
    assert default.base == "smollm2" and default.pretrained
    assert (default.learning_rate, default.train_epochs(), default.early_stop_patience, default.kept_layers) == (
        PRETRAINED_RECIPE["lr"], PRETRAINED_RECIPE["epochs"], PRETRAINED_RECIPE["patience"], PRETRAINED_RECIPE["layers"])
    assert TrainConfig(lora=True).learning_rate == PRETRAINED_RECIPE["lora_lr"]
    scratch = TrainConfig(base="scratch")
    assert (scratch.learning_rate, scratch.train_epochs(), scratch.early_stop_patience, scratch.kept_layers) == (
        SCRATCH_RECIPE["lr"], SCRATCH_RECIPE["epochs"], SCRATCH_RECIPE["patience"], None)
    explicit = TrainConfig(lr=0.1, epochs=2, patience=3, base_layers=5)
    assert (explicit.learning_rate, explicit.train_epochs(), explicit.early_stop_patience, explicit.kept_layers) == (
        0.1, 2, 3, 5)
    # where the intent head decides every final, the language model only learns to write the answers
    assert default.train_epochs(decided=True) == PRETRAINED_RECIPE["decided_epochs"] < PRETRAINED_RECIPE["epochs"]
    assert default.total_steps(5, decided=True) == PRETRAINED_RECIPE["decided_min_steps"]
    assert default.total_steps(5) == PRETRAINED_RECIPE["min_steps"]
    assert explicit.total_steps(5, decided=True) == 10  # epochs given: the recipe's schedule does not apply


@pytest.mark.slow
def test_cheshire_cat_scratch_model_answers_every_training_prompt(protocol, tmp_path):
    """The issue's target: the default scratch model learns every final and refuses every guardrail prompt."""
    result = train(protocol, tmp_path / "m", TrainConfig(base="scratch", val_split=0.0, progress=False))
    check = result.metrics["check_train"]
    assert check["examples"] == result.metrics["train_examples"]
    assert check["final_accuracy"] == 1.0 and check["refusal_rate"] == 1.0, check["misses"]


def test_cuda_without_a_gpu_is_a_clear_error(protocol, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from model_train_protocol.errors import MTPValueError

    with pytest.raises(MTPValueError, match="no CUDA device"):
        train(protocol, tmp_path / "m", tiny(device="cuda"))


def test_a_small_protocol_still_gets_the_recipe_s_minimum_of_steps():
    from model_train_protocol.train import PRETRAINED_RECIPE

    assert TrainConfig().total_steps(3) == max(3 * PRETRAINED_RECIPE["epochs"], PRETRAINED_RECIPE["min_steps"])
    assert TrainConfig().total_steps(100) == 100 * PRETRAINED_RECIPE["epochs"]
    assert TrainConfig(epochs=1).total_steps(3) == 3  # an explicit epoch count is taken as given
    assert TrainConfig(max_steps=7).total_steps(100) == 7


def test_context_lines_follow_the_recipe_unless_set():
    assert TrainConfig().train_context is False and TrainConfig(base="scratch").train_context is True
    assert TrainConfig(context_text=True).train_context is True


def test_resume_without_a_checkpoint_says_so(protocol, tmp_path):
    """--resume must not silently start over: no checkpoint is an error naming the folder."""
    with pytest.raises(TrainConfigError, match="no checkpoint"):
        train(protocol, tmp_path / "never", tiny(resume=True))
    train(protocol, tmp_path / "done", tiny())  # a finished run removes its checkpoints
    with pytest.raises(TrainConfigError, match="no checkpoint"):
        train(protocol, tmp_path / "done", tiny(resume=True))


def test_the_settings_are_saved_with_the_run_and_read_back(protocol, tmp_path):
    from model_train_protocol.model_dir import verify_dir
    from model_train_protocol.train import CONFIG_FILE, read_config_file

    config = tiny(seed=4, lr=0.01)
    train(protocol, tmp_path / "m", config)
    manifest = verify_dir(tmp_path / "m")  # listed in the manifest like every other file
    assert CONFIG_FILE in {entry["path"] for entry in manifest["files"]}
    assert TrainConfig(**read_config_file(tmp_path / "m" / CONFIG_FILE)) == config


def test_trained_tokenizer_carries_the_raw_mtp_chat_template(protocol, trained_dir):
    from transformers import AutoTokenizer

    from model_train_protocol.export import CHAT_TEMPLATE
    from model_train_protocol.rules import render_protocol

    tokenizer = AutoTokenizer.from_pretrained(trained_dir)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    example = next(iter(render_protocol(protocol)))
    messages = [{"role": "user", "content": example.prompt}, {"role": "assistant", "content": example.completion}]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == example.text


def test_the_refusal_threshold_is_chosen_on_enough_validation_answers_and_stored(tmp_path):
    """Opted in, the threshold comes from the validation answers, is stored and is what Model.load uses."""
    from model_train_protocol.examples.support_intents import build_protocol as support
    from model_train_protocol.infer import Model
    from model_train_protocol.train import MIN_CALIBRATION_PROMPTS

    result = train(support(), tmp_path / "m", tiny(max_false_refusals=0.05, check_examples=64, val_split=0.1))
    refusal = result.manifest["mtp"]["refusal"]
    confidences = result.metrics["check_val"]["confidences"]
    assert len(confidences) >= MIN_CALIBRATION_PROMPTS
    assert refusal["threshold"] is not None and 0 <= refusal["threshold"] <= refusal["cap"]
    assert sum(c < refusal["threshold"] for c in confidences) <= 0.05 * len(confidences)
    assert Model.load(tmp_path / "m").threshold == refusal["threshold"]
    assert Model.load(tmp_path / "m", threshold=0.0).threshold == 0.0


def test_no_threshold_by_default_or_from_a_handful_of_validation_answers(protocol, tmp_path):
    default = train(protocol, tmp_path / "a", tiny(check_examples=8))
    assert default.manifest["mtp"]["refusal"]["threshold"] is None
    assert "turned off" in default.manifest["mtp"]["refusal"]["reason"]
    few = train(protocol, tmp_path / "b", tiny(check_examples=8, max_false_refusals=0.05))
    assert few.manifest["mtp"]["refusal"]["threshold"] is None
    assert "at least" in few.manifest["mtp"]["refusal"]["reason"]


def test_training_and_loading_leave_the_process_alone(protocol, tmp_path, monkeypatch):
    """No global side effects: the global ``random`` keeps its state, no hub setting is written to os.environ."""
    import os
    import random

    from model_train_protocol.infer import Model
    from model_train_protocol.train import load_base

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_NO_ADVISORY_WARNINGS"):
        monkeypatch.delenv(name, raising=False)
    random.seed(1234)
    before = random.getstate()
    out = tmp_path / "model"
    train(protocol, out, tiny())
    assert random.getstate() == before
    load_base(str(out))  # a local directory as the base of another run
    Model.load(out)
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_NO_ADVISORY_WARNINGS" not in os.environ


def test_progress_off_a_terminal_is_plain_lines(protocol, tmp_path, capsys):
    """Regression: off a terminal (CI logs, nohup, a pipe) training printed nothing until the bar at the end."""
    import re

    train(protocol, tmp_path / "m", tiny(max_steps=20, progress=True))
    lines = capsys.readouterr().err.strip().splitlines()
    assert [int(re.match(r"training step (\d+)/20  loss \d+\.\d{4}  val \S+  elapsed \d+ s$", line).group(1))
            for line in lines] == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]


@pytest.mark.parametrize("seconds, kept", [(0.0, True), (1e9, False)])
def test_default_checkpoints_wait_a_minute_after_the_previous_one(protocol, tmp_path, monkeypatch, seconds, kept):
    """Regression: a 40-step SmolLM2 run wrote a 2 GB checkpoint at each of its 9 epochs (a tenth of its time).
    ``checkpoint_every=0`` now checkpoints at an epoch only once CHECKPOINT_SECONDS have passed; an explicit
    ``checkpoint_every`` is kept exactly (the resume tests above use it)."""
    import importlib

    loop = importlib.import_module("model_train_protocol.train._train")  # the attribute `train` is the function
    monkeypatch.setattr(loop, "CHECKPOINT_SECONDS", seconds)
    state = tmp_path / "m" / "checkpoints" / "last" / "state.json"
    train(protocol, tmp_path / "m", tiny(max_steps=6, batch_size=32, keep_checkpoints=True))  # epochs of 1-2 steps
    assert state.is_file() == kept
    if kept:
        assert 0 < json.loads(state.read_text())["step"] < 6  # an epoch before the end


def test_the_optimizer_is_fused_on_a_cpu(protocol, tmp_path, monkeypatch):
    import torch

    made = []
    original = torch.optim.AdamW

    def recording(*args, **kwargs):
        made.append(kwargs.get("fused"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", recording)
    train(protocol, tmp_path / "m", tiny(max_steps=2))
    assert made == [True]


@pytest.mark.parametrize("precision, units, autocast", [("bf16", False, True), ("fp32", True, False),
                                                         ("auto", True, False)])  # auto: never the scratch model
def test_the_forward_pass_runs_in_the_asked_precision(protocol, tmp_path, monkeypatch, precision, units, autocast):
    from model_train_protocol.train import _environment as environment

    monkeypatch.setattr(environment, "has_bf16", lambda device: units)
    train(protocol, tmp_path / "m", tiny(precision=precision))
    assert json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]["settings"]["bf16"] is autocast


@pytest.mark.parametrize("units", [True, False])
def test_auto_precision_follows_the_hardware_for_a_pretrained_base(protocol, tmp_path, trained_dir, monkeypatch,
                                                                     units):
    from model_train_protocol.train import _environment as environment

    monkeypatch.setattr(environment, "has_bf16", lambda device: units)
    train(protocol, tmp_path / "m", tiny(base=str(trained_dir), max_steps=2, similarity_refusal=False))
    assert json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]["settings"]["bf16"] is units


def test_bf16_training_changes_the_arithmetic(protocol, tmp_path):
    train(protocol, tmp_path / "a", tiny(precision="fp32"))
    train(protocol, tmp_path / "b", tiny(precision="bf16"))
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))


def test_the_cpu_s_bf16_units_are_read_from_its_feature_flags():
    from pathlib import Path

    from model_train_protocol.train import has_bf16

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo to compare with (not Linux)")
    flags = {flag for line in cpuinfo.read_text().splitlines() if line.startswith("flags")
             for flag in line.split(":", 1)[1].split()}
    assert has_bf16("cpu") is bool(flags & {"amx_bf16", "avx512_bf16"})
    assert has_bf16("cuda") is (torch.cuda.is_available() and torch.cuda.is_bf16_supported())
