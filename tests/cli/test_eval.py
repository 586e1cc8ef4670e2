"""``mtp eval``: report files, the table, the split choice, and the held-out protocol of the intent example."""

from __future__ import annotations

import json

import pytest


pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import cheshire, mtp_in_process, write_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir(True)


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


def test_json_carries_f1_the_refusal_sweep_and_the_held_out_check(model_dir, model_file, tmp_path):
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, model_file, "--split", "all",
                                    "--out", tmp_path / "ev", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert list(summary["per_final"]) == ["Continue", "Appear", "Vanish", "Madness", "<UNK>"]
    assert summary["per_final"]["<UNK>"]["support"] == 12
    assert 0.0 <= summary["macro_f1"] <= 1.0
    refusal = summary["refusal"]
    assert refusal["cases"] + refusal["excluded"] == 27
    # the directory was trained on every sample (val_split 0): all 27 prompts are training prompts
    held = summary["held_out"]
    assert (held["cases"], held["training_prompts"], held["exact_duplicates"]) == (27, 27, 27)
    assert held["held_out"] is False and held["training_source"].startswith("training split")
    assert err.count("warning: the evaluation set is not held out: 27 of 27 prompts (100%)") == 1
    report = json.loads((tmp_path / "ev" / "eval_report.json").read_text(encoding="utf-8"))
    assert report["held_out"] == held and report["summary"]["per_final"] == summary["per_final"]


def test_the_table_shows_per_final_scores_and_warns_about_the_training_split(model_dir, model_file, tmp_path):
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, model_file, "--out", tmp_path / "ev")
    assert code == 0, err
    assert "macro-F1" in out and "per final" in out and "precision" in out
    assert "held out  " in out and "NO" in out and "WARNING: the evaluation set is the training split" in out
    assert "warning: the evaluation set is the training split" in err


def test_threshold_overrides_the_model_s_own(model_dir, model_file, tmp_path):
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", model_dir, model_file, "--split", "all",
                                    "--limit", "6", "--out", tmp_path / "ev", "--json", "--threshold", "0.5")
    assert code == 0, err
    refusal = json.loads(out)["refusal"]
    assert refusal["threshold"] == 0.5 and refusal["at_threshold"]["threshold"] == 0.5
    code, out, err = mtp_in_process("eval", model_dir, model_file, "--threshold", "1.5")
    assert code == 2


def test_a_held_out_protocol_is_reported_as_held_out(tmp_path):
    from model_train_protocol.examples.support_intents import build_heldout, build_protocol

    directory = write_model_dir(build_protocol(), tmp_path / "support")
    heldout = build_heldout().save(path=tmp_path)
    code, out, err = mtp_in_process("eval", "--max-tokens", "4", directory, heldout, "--limit", "12",
                                    "--out", tmp_path / "ev", "--json")
    assert code == 0, err
    held = json.loads(out)["held_out"]
    assert (held["cases"], held["training_prompts"], held["exact_duplicates"], held["near_duplicates"]) == (12, 230, 0, 0)
    assert held["held_out"] is True and "warning" not in err
