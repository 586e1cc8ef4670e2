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
