"""Hostile values where they enter the CLI: flags, stdin lines, argument files; one ``error:`` line each."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .mtp_runner import MTP, assert_clean_error, mtp

from infer.tiny import mtp_in_process  # noqa: E402

NUMERIC = "alice_cat_alice_instruction_numeric"


def one_error_line(code: int, out: str, err: str, expected_code: int = 1) -> str:
    assert code == expected_code, (code, out, err)
    assert "Traceback" not in out + err and "internal error" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from infer.tiny import cheshire, write_model_dir

    return write_model_dir(cheshire(True), tmp_path_factory.mktemp("inputs") / "model")


@pytest.mark.parametrize("args, message", [
    (["--sample", "--temperature", "inf"], "--temperature"),
    (["--sample", "--temperature", "nan"], "--temperature"),
    (["--sample", "--temperature", "-1"], "--temperature"),
    (["--sample", "--temperature", "0"], "--temperature"),
    (["--sample", "--seed", str(2**70)], "--seed"),
    (["--sample", "--seed", "-1"], "--seed"),
    (["-n", "9" * 5000, "-n", "1"], "neither an integer"),
    (["-n", "[" * 3000 + "]" * 3000, "-n", "1"], "neither an integer"),
    (["-n", "[1, 2, 3]", "-n", "1.5"], "an integer in"),
    (["-n", "[1, 2, NaN]", "-n", "1"], "neither an integer"),
    (["-n", "[1, 2, 1e400]", "-n", "1"], "neither an integer"),
    (["-n", "[1, 2, 3]", "-n", "1", "-l", "a\udcffb"], "--line"),
])
def test_run_refuses_bad_flag_values_in_one_line(model_dir, args, message):
    base = ["-i", NUMERIC, "-l", "a", "-l", "b"] if "-l" not in args else ["-i", NUMERIC, "-l", "a"]
    line = one_error_line(*mtp_in_process("run", model_dir, "--max-tokens", "3", *base, *args))
    assert message in line


def test_run_refuses_a_non_utf8_argument_from_the_shell(model_dir):
    proc = subprocess.run([MTP, "run", str(model_dir), "-i", NUMERIC, "-l", b"caf\xe9", "-l", "b", "-n", "[1, 2, 3]",
                           "-n", "1"], capture_output=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "LC_ALL": "C.UTF-8"})
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1 and stderr.startswith("error:") and "--line 1" in stderr, stderr


def test_chat_survives_a_non_utf8_line(model_dir):
    code, out, err = mtp_in_process("chat", model_dir, "--max-tokens", "3", "-i", "alice_asks_the_cat", "--json",
                                    stdin=b"caf\xe9\nhello\n")
    assert code == 0, err
    assert len(out.splitlines()) == 1 and "not valid UTF-8" in err


def test_import_csv_context_file_in_latin1_is_one_error_line(tmp_path):
    from .mtp_runner import CSV_DATA

    csv_file = next(CSV_DATA.glob("*.csv"))
    context = tmp_path / "context.txt"
    context.write_bytes("Caf\xe9 au lait.\n".encode("latin-1"))
    line = one_error_line(*mtp_in_process("import-csv", csv_file, "--context-file", context, "--out", tmp_path))
    assert "not UTF-8" in line and "context.txt" in line


@pytest.mark.parametrize("command", ["validate", "info", "template", "convert", "export", "train"])
def test_a_missing_file_argument_is_one_error_line(tmp_path, command):
    extra = {"export": ["--format", "text"], "convert": ["--to", "2.0.1"]}.get(command, [])
    code, out, err = mtp_in_process(command, tmp_path / "absent_model.json", *extra)
    line = one_error_line(code, out, err, expected_code=2)
    assert "does not exist" in line


def test_a_missing_model_directory_is_one_error_line(tmp_path):
    line = one_error_line(*mtp_in_process("run", tmp_path / "absent", "-l", "a"), expected_code=2)
    assert "does not exist" in line


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads every file")
def test_an_unreadable_file_is_one_error_line(tmp_path):
    path = tmp_path / "secret_model.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0)
    one_error_line(*mtp_in_process("info", path), expected_code=2)


def test_a_fifo_argument_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe_model.json"
    os.mkfifo(fifo)
    line = assert_clean_error(mtp("info", fifo))
    assert "FIFO" in line


@pytest.mark.parametrize("name", ["../evil", "a\u0000b"])
def test_validate_does_not_call_valid_what_other_commands_refuse(tmp_path, name):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    path = build_protocol().save(path=tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["name"] = name
    path.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = mtp_in_process("validate", path)
    assert code == 1 and "Traceback" not in out + err
    template = mtp_in_process("template", path, "--out", tmp_path / "t")
    assert template[0] == 1 and "internal error" not in template[2]


def test_example_help_does_not_write_a_folder(tmp_path):
    import sys

    proc = subprocess.run([sys.executable, "-m", "model_train_protocol.examples.support_intents", "--help"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "usage:" in proc.stdout
    assert list(Path(tmp_path).iterdir()) == []
