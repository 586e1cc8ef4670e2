"""``mtp export``: JSONL files in every format, a seeded stratified split, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_train_protocol.export import FORMATS
from model_train_protocol.rules import render_protocol
from model_train_protocol.examples.cheshire_cat import build_protocol

from .mtp_runner import assert_clean_error, assert_usage_error, edited_copy, model_file, mtp  # noqa: F401


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(model_file: Path, tmp_path: Path, fmt: str) -> None:
    proc = mtp("export", model_file, "--format", fmt, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(list(render_protocol(build_protocol()))) == 27
    assert "27 examples" in proc.stdout and "12 of them guardrail refusals" in proc.stdout


def test_text_matches_the_renderer(model_file: Path, tmp_path: Path) -> None:
    assert mtp("export", model_file, "-f", "text", "-o", tmp_path).returncode == 0
    texts = [json.loads(line)["text"] for line in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert texts == [example.text for example in render_protocol(build_protocol())]


def test_split_is_seeded(model_file: Path, tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 5), ("b", 5)):
        proc = mtp("export", model_file, "-f", "prompt-completion", "-o", tmp_path / name, "--val-split", "0.2",
                   "--seed", seed)
        assert proc.returncode == 0, proc.stderr
        runs[name] = ((tmp_path / name / "train.jsonl").read_bytes(), (tmp_path / name / "val.jsonl").read_bytes())
    assert runs["a"] == runs["b"]
    assert len(runs["a"][1].splitlines()) == 5  # round(27 * 0.2)


def test_default_directory(model_file: Path, tmp_path: Path) -> None:
    assert mtp("export", model_file, "-f", "alpaca", cwd=tmp_path).returncode == 0
    assert (tmp_path / "cheshire_cat_alpaca" / "train.jsonl").is_file()


def test_errors(model_file: Path, tmp_path: Path) -> None:
    assert_usage_error(mtp("export", model_file, "--format", "csv", "-o", tmp_path))
    assert_usage_error(mtp("export", model_file, "--format", "text", "--val-split", "1.5", "-o", tmp_path))
    invalid = edited_copy(model_file, tmp_path / "thin_model.json", lambda d: d.update(context=d["context"][:1]))
    line = assert_clean_error(mtp("export", invalid, "-f", "text", "-o", tmp_path / "out"))
    assert "mtp validate" in line and "context" in line
    assert not (tmp_path / "out" / "train.jsonl").exists()


@pytest.mark.parametrize("args, message", [
    (["export", "{file}", "--format", "csv"], "error: --format 'csv' is not one of: openai-chat, prompt-completion, "
                                              "alpaca, sharegpt, text."),
    (["export-model", "{dir}", "--format", "onnx"], "error: --format 'onnx' is not one of: gguf."),
    (["export-model", "{dir}", "--format", "gguf", "--quant", "q4"], "error: --quant 'q4' is not one of: f16, q8_0."),
])
def test_a_format_outside_the_choices_is_one_plain_line(model_file, tmp_path, args, message):  # noqa: F811
    """Regression: typer answered in pydantic's words ("Value error, 'csv' is not one of ...") under a usage box."""
    proc = mtp(*(a.format(file=model_file, dir=tmp_path) for a in args))
    assert proc.returncode == 2 and proc.stderr.strip() == message


def test_a_file_error_without_a_pointer_ends_plainly(tmp_path):
    from model_train_protocol.errors import MTPFileError

    assert str(MTPFileError("not a model directory.", path="out")) == "out: not a model directory."
    assert str(MTPFileError("bad.", path="m.json", pointer="/files/0")) == "m.json: bad. (at /files/0)"
