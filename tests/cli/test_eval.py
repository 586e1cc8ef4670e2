"""``mtp eval``: report files, the table, the split choice, and the held-out protocol of the intent example."""

from __future__ import annotations

import json

import pytest


pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import cheshire, mtp_in_process, write_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_model_dir(cheshire(True), tmp_path_factory.mktemp("eval") / "model")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return cheshire(True).save(path=tmp_path_factory.mktemp("file"))


def test_all_samples_json_report_and_png(model_dir, model_file, tmp_path):
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, model_file, "--split", "all", "--out", tmp_path / "ev", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["source"] == "all samples"
    assert (summary["good_prompts"], summary["bad_prompts"]) == (15, 12)  # 3 bad prompts x 4 guarded lines
    for key in ("final_accuracy", "guardrail_recall", "false_refusals", "response_similarity"):
        assert 0.0 <= summary[key] <= 1.0
    report = json.loads((tmp_path / "ev" / "eval_report.json").read_text(encoding="utf-8"))
    assert len(report["cases"]) == 27
    labels = report["confusion"]["labels"]
    assert labels[-1] == "<UNK>" and sum(map(sum, report["confusion"]["counts"])) == 27
    assert (tmp_path / "ev" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_auto_uses_the_trained_protocol_and_prints_a_table(model_dir, model_file, tmp_path):
    # the tiny directory was written with val_split=0, so auto falls back to the training split
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, model_file, "--out", tmp_path / "ev", "--limit", "5")
    assert code == 0, err
    assert "training split" in out and "final accuracy" in out and "cases (good / bad prompts)  " in out
    assert "wrote" in out


def test_val_split_of_another_protocol_is_refused(model_dir, tmp_path):
    from model_train_protocol.examples.support_intents import build_heldout

    other = build_heldout().save(path=tmp_path)
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, other, "--split", "val", "--out", tmp_path / "ev")
    assert code == 1 and err.startswith("error: ") and "different one; use --split all" in err


def test_out_inside_the_model_directory_is_refused(model_dir, model_file):
    code, out, err = mtp_in_process("eval", model_dir, model_file, "--out", model_dir / "ev")
    assert code == 1 and "inside the model directory" in err
    assert not (model_dir / "ev").exists()
