"""``mtp validate``: exit 0/1/2, problems with JSON pointers and hints, --json output."""

from __future__ import annotations

import json
from pathlib import Path

from .mtp_runner import assert_usage_error, edited_copy, model_file, mtp  # noqa: F401


def test_valid_model_and_template(model_file: Path) -> None:
    template = model_file.with_name("cheshire_cat_template.json")
    proc = mtp("validate", model_file, template)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid (model 0.3.2)" in proc.stdout and "valid (template 0.3.2)" in proc.stdout


def test_json_report_of_rule_problems(model_file: Path, tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["context"] = doc["context"][:2]
        doc["instruction"]["sets"][0]["samples"] = doc["instruction"]["sets"][0]["samples"][:2]

    broken = edited_copy(model_file, tmp_path / "few_model.json", edit)
    proc = mtp("validate", "--json", model_file, broken)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["valid"] is False
    good, bad = report["files"]
    assert good["valid"] and good["problems"] == [] and good["kind"] == "model"
    by_rule = {p["rule"]: p for p in bad["problems"]}
    assert by_rule["protocol.context-lines"]["pointer"] == "/context"
    assert by_rule["instruction.too-few-samples"]["pointer"] == "/instruction/sets/0"
    assert all(p["hint"] and p["message"] for p in bad["problems"])


def test_schema_problem_names_its_pointer(model_file: Path, tmp_path: Path) -> None:
    broken = edited_copy(model_file, tmp_path / "bad_model.json", lambda d: d.update(inputs="two"))
    proc = mtp("validate", broken)
    assert proc.returncode == 1
    assert "/inputs" in proc.stdout and "fix:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_truncated_and_foreign_files(model_file: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "t_model.json"
    truncated.write_text(model_file.read_text(encoding="utf-8")[:500], encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    proc = mtp("validate", "--json", truncated, other)
    assert proc.returncode == 1
    first, second = json.loads(proc.stdout)["files"]
    assert [p["rule"] for p in first["problems"]] == ["file.json"]
    assert "JSON" in first["problems"][0]["message"]
    assert [p["rule"] for p in second["problems"]] == ["file.kind"]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(mtp("validate", tmp_path / "nope_model.json"))
    assert_usage_error(mtp("validate"))


def test_reference_files(shared_dir: Path) -> None:
    good = shared_dir / "generated" / "v1.2.8" / "tiny_model.json"
    state_machine = shared_dir / "generated" / "v1.2.8" / "sm_model.json"
    proc = mtp("validate", "--json", good, state_machine)
    assert proc.returncode == 1
    ok, refused = json.loads(proc.stdout)["files"]
    assert ok["valid"] and ok["version"] == "2.0.1"
    assert {p["pointer"] for p in refused["problems"]} == {"/model_type"}
    assert any("state_machine" in p["message"] for p in refused["problems"])
