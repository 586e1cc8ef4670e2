"""``mtp import-csv``: the reference's CSV layout into model and template files; unusable rows as warnings."""

from __future__ import annotations

import json
from pathlib import Path

import model_train_protocol as mtp_lib

from .mtp_runner import CSV_DATA, assert_usage_error, mtp

CONTEXT = ("--context", "First extra line.", "--context", "Second extra line.", "--context", "Third extra line.")


def test_reference_csv_as_the_classifier(tmp_path: Path) -> None:
    proc = mtp("import-csv", CSV_DATA / "data.csv", "--layout", "classifier", "--name", "csvdemo", "--out", tmp_path,
               *CONTEXT)
    assert proc.returncode == 0, proc.stderr
    assert "10 samples, 3 guardrail prompts, 0 row issue(s)" in proc.stdout
    assert proc.stderr == ""
    protocol = mtp_lib.Protocol.load(tmp_path / "csvdemo_model.json")
    assert protocol.validate() == [] and (tmp_path / "csvdemo_template.json").is_file()
    assert sorted(f.name for f in protocol.instructions[0].finals) == ["Location", "Password", "Pricing"]
    assert mtp("validate", tmp_path / "csvdemo_model.json", tmp_path / "csvdemo_template.json").returncode == 0


def test_context_file(tmp_path: Path) -> None:
    lines = tmp_path / "context.txt"
    lines.write_text("One.\n\nTwo.\nThree.\n", encoding="utf-8")
    proc = mtp("import-csv", CSV_DATA / "data.csv", "--context-file", lines, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert mtp_lib.Protocol.load(tmp_path / "data_model.json").context == ["One.", "Two.", "Three."]


def test_unusable_rows_are_warnings(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    rows = ["Input,Output,Reference", ",X,", *(f"question {i},Billing,fact {i}" for i in range(10)), "lonely,Other,"]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    proc = mtp("import-csv", source, "--layout", "classifier", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.strip().splitlines()
    assert warnings[0].startswith("warning:") and "row 2: empty Input" in warnings[0]
    assert "row 13: Output 'Other' has only 1 row" in warnings[1]
    assert "2 row issue(s)" in proc.stdout


def test_invalid_result_ends_with_one_error_line(tmp_path: Path) -> None:
    proc = mtp("import-csv", CSV_DATA / "data.csv", "--out", tmp_path)  # 7 references: too few context lines
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert [line.startswith("error:") for line in lines].count(True) == 1 and lines[-1].startswith("error:")
    assert "--context" in lines[-1] and "context-lines" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.glob("*.json"))


def test_unreadable_csv(tmp_path: Path) -> None:
    source = tmp_path / "other.csv"
    source.write_text("Question,Answer\na,b\n", encoding="utf-8")
    proc = mtp("import-csv", source, "--layout", "classifier", "--out", tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "missing Input, Output" in proc.stderr
    assert_usage_error(mtp("import-csv", tmp_path / "missing.csv"))


def test_default_layout_is_the_reference_state_machine(tmp_path: Path) -> None:
    proc = mtp("import-csv", CSV_DATA / "data.csv", "--name", "csvdemo", "--out", tmp_path, *CONTEXT, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["kind"], report["samples"], report["guardrail_samples"]) == ("state_machine", 10, 3)
    assert report["states"] == {"Output": ["Password", "Pricing", "Location"]}
    model = json.loads((tmp_path / "csvdemo_model.json").read_text(encoding="utf-8"))
    assert model["$schema"].endswith("/v2/bloom_2_0_1.json") and model["inputs"] == 1
    assert model["instruction"]["sets"][0]["set"] == [["Input_"], ["State_"]]


def test_label_columns_become_a_multi_classifier(tmp_path: Path) -> None:
    source = tmp_path / "moods.csv"
    rows = ["Input,Emotion,Intent", *(f"line {i},{'happy' if i % 2 else 'sad'},{'ask' if i < 3 else 'tell'}"
                                      for i in range(6))]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = [arg for i in range(10) for arg in ("--context", f"Fact {i}.")]
    proc = mtp("import-csv", source, "--out", tmp_path, *lines)
    assert proc.returncode == 0, proc.stderr
    assert "6 samples, 0 guardrail prompts, 0 row issue(s); multi-classifier, labels: Emotion (sad, happy); " \
           "Intent (ask, tell)" in proc.stdout


def test_too_few_guardrail_rows_and_a_bad_layout_are_one_error_line(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    rows = ["Input,Output", *(f"question {i},Billing" for i in range(10)), "sing,GUARDRAIL"]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    proc = mtp("import-csv", source, "--out", tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "only 1 GUARDRAIL row(s)" in proc.stderr
    assert_usage_error(mtp("import-csv", source, "--layout", "table", "--out", tmp_path))
