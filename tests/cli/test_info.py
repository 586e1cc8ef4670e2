"""``mtp info``: tables and JSON statistics of a model file; clean errors."""

from __future__ import annotations

import json
from pathlib import Path

from .mtp_runner import assert_clean_error, assert_usage_error, model_file, mtp  # noqa: F401


def test_tables(model_file: Path) -> None:
    proc = mtp("info", model_file)
    assert proc.returncode == 0, proc.stderr
    for text in ("cheshire_cat", "Instructions", "Guardrails", "String lengths", "Are you as mad as me?", "extended"):
        assert text in proc.stdout
    assert "warning:" in proc.stderr  # three samples per final is thin
    assert "Traceback" not in proc.stderr


def test_json(model_file: Path) -> None:
    proc = mtp("info", "--json", "--thin", "3", model_file)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["samples"] == 15 and len(stats["instructions"]) == 4
    assert stats["instructions"][1]["finals"] == {"Appear": 3, "Vanish": 3}
    assert stats["guardrails"][0]["samples"] == 3
    assert stats["context_lines"] == 18 and stats["duplicates"] == 0
    assert set(stats["lengths"]) == {"input", "prompt", "output", "context"}
    assert stats["warnings"] == []  # --thin 3: nothing is thin


def test_errors(model_file: Path, tmp_path: Path) -> None:
    line = assert_clean_error(mtp("info", model_file.with_name("cheshire_cat_template.json")))
    assert "template" in line
    bad = tmp_path / "bad_model.json"
    bad.write_text("[1, 2", encoding="utf-8")
    assert "bad_model.json" in assert_clean_error(mtp("info", bad))
    assert_usage_error(mtp("info", tmp_path / "missing_model.json"))


def test_state_machine_and_multi_classifier(data_dir: Path) -> None:
    proc = mtp("info", data_dir / "golden" / "npc_model.json")
    assert proc.returncode == 0, proc.stderr
    for text in ("state_machine model", "States", "Attack", "Trade"):
        assert text in proc.stdout
    proc = mtp("info", "--json", data_dir / "reference" / "v1.2.8" / "mc_model.json")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["model_type"] == "multi_classifier"
    assert stats["instructions"][0]["labels"] == {"emotion": {"happy": 2, "sad": 2},
                                                  "intent": {"question": 2, "statement": 2}}
