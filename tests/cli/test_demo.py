"""``mtp demo``: the Cheshire Cat example, built and saved through the installed entry point."""

from __future__ import annotations

from pathlib import Path

from .mtp_runner import mtp


def test_demo_writes_valid_files(tmp_path: Path) -> None:
    options = ["--no-train"] if "--no-train" in mtp("demo", "--help").stdout else []
    proc = mtp("demo", "--out", tmp_path, *options)
    assert proc.returncode == 0, proc.stderr
    model, template = tmp_path / "cheshire_cat_model.json", tmp_path / "cheshire_cat_template.json"
    assert model.is_file() and template.is_file()
    assert mtp("validate", model, template).returncode == 0
