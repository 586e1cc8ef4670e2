"""``mtp demo``: the Cheshire Cat example, built and saved (and trained) through the installed entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from .mtp_runner import mtp


def test_demo_writes_valid_files(tmp_path: Path) -> None:
    proc = mtp("demo", "--out", tmp_path, "--no-train")
    assert proc.returncode == 0, proc.stderr
    model, template = tmp_path / "cheshire_cat_model.json", tmp_path / "cheshire_cat_template.json"
    assert model.is_file() and template.is_file()
    assert not (tmp_path / "model").exists()
    assert mtp("validate", model, template).returncode == 0


@pytest.mark.slow
def test_demo_trains_the_example_and_the_model_answers(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    proc = mtp("demo", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert (tmp_path / "model" / "mtp_manifest.json").is_file()
    out = " ".join(proc.stdout.split())
    assert "Continue" in out and "Vanish" in out
    assert "refused (guardrail)" in out


def test_tables_in_a_file_never_cut_names(tmp_path: Path) -> None:
    """Output to a pipe or file is not fitted to a terminal width: instruction names stay whole."""
    import os
    import subprocess

    from .mtp_runner import MTP

    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    proc = subprocess.run([MTP, "demo", "--out", str(tmp_path), "--no-train"], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("alice_cat_alice_instruction_numeric", "alice_cat_alice_appear_disappear", "alice_asks_the_cat"):
        assert name in proc.stdout
    assert "…" not in proc.stdout


def test_demo_without_the_training_extra_names_the_real_extra_and_install(tmp_path: Path) -> None:
    import os
    import subprocess

    from .mtp_runner import MTP

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "torch.py").write_text("raise ImportError('No module named torch')\n")
    (fake / "transformers.py").write_text("raise ImportError('No module named transformers')\n")
    env = {**os.environ, "PYTHONPATH": str(fake), "NO_COLOR": "1"}
    proc = subprocess.run([MTP, "demo", "--out", str(tmp_path / "demo")], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'the train extra is not installed; pip install ".[train]" (in a clone of the mtp-toolkit repository)' \
        in " ".join(proc.stdout.split())


def test_demo_json(tmp_path: Path) -> None:
    import json

    proc = mtp("demo", "--out", tmp_path, "--no-train", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["trained"] is False and [Path(f).name for f in result["files"]] == [
        "cheshire_cat_model.json", "cheshire_cat_template.json"]
