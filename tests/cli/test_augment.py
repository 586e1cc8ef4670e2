"""``mtp augment``: a new model file and a review list, never an overwrite without --force; the real SmolLM2 run
is slow and marked so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import model_train_protocol as mtp

from .mtp_runner import model_file, mtp as run_mtp  # noqa: F401


def test_never_overwrites_without_force(model_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "cheshire_cat_augmented_model.json"
    target.write_text("{}", encoding="utf-8")
    proc = run_mtp("augment", model_file, "--out", tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_text(encoding="utf-8") == "{}"


@pytest.mark.slow
def test_smollm2_writes_a_new_file_and_a_review_list(model_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    original = model_file.read_bytes()
    proc = run_mtp("augment", model_file, "--out", tmp_path, "--per-final", "1", "--threads", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    review = json.loads(Path(report["review"]).read_text(encoding="utf-8"))
    assert model_file.read_bytes() == original and review["added"] == report["added"]
    before = mtp.Protocol.load(model_file)
    after = mtp.Protocol.load(report["file"])
    assert sum(len(i.samples) for i in after.instructions) == sum(len(i.samples) for i in before.instructions) + len(
        review["added"])
    for item in review["added"]:
        # the review names the input's instructions; the file keeps their order
        instruction = after.instructions[[i.name for i in before.instructions].index(item["instruction"])]
        (sample,) = [s for s in instruction.samples if item["text"] in [line.string for line in s.inputs]]
        assert sample.final.name == item["final"]
    assert run_mtp("augment", model_file, "--out", tmp_path).returncode == 2
