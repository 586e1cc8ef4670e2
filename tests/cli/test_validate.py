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
    classifier = shared_dir / "generated" / "v1.2.8" / "mc_model.json"
    proc = mtp("validate", "--json", good, state_machine, classifier)
    assert proc.returncode == 0, proc.stdout
    verdicts = json.loads(proc.stdout)["files"]
    assert all(v["valid"] and v["version"] == "2.0.1" for v in verdicts)


def test_state_machine_and_multi_classifier_rules_for_files(tmp_path: Path, shared_dir: Path) -> None:
    """A state outside the declared ones and a label value outside the map are reported with their place."""
    machine = json.loads((shared_dir / "generated" / "v1.2.8" / "sm_model.json").read_text(encoding="utf-8"))
    machine["instruction"]["sets"][0]["samples"][4]["strings"][-1] = "Flying"
    classifier = json.loads((shared_dir / "generated" / "v1.2.8" / "mc_model.json").read_text(encoding="utf-8"))
    classifier["instruction"]["sets"][0]["samples"][1]["strings"][-1] = "{'emotion': 'bored', 'intent': 'statement'}"
    paths = [tmp_path / "sm_model.json", tmp_path / "mc_model.json"]
    for path, doc in zip(paths, (machine, classifier)):
        path.write_text(json.dumps(doc), encoding="utf-8")
    proc = mtp("validate", "--json", *paths)
    assert proc.returncode == 1
    sm, mc = json.loads(proc.stdout)["files"]
    assert [(p["rule"], p["pointer"]) for p in sm["problems"]] == [("sample.state", "/instruction/sets/0/samples/4")]
    assert [(p["rule"], p["pointer"]) for p in mc["problems"]] == [
        ("sample.labels-in-map", "/instruction/sets/0/samples/1")]


def test_every_reference_copy(data_dir: Path, tmp_path: Path) -> None:
    """Every model and template file of every reference release: a verdict for each, never a crash."""
    files = sorted((data_dir / "reference").rglob("*.json"))
    assert len(files) > 20
    proc = mtp("validate", "--json", *files)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr  # pre-0.3 files are refused
    verdicts = {Path(f["file"]).relative_to(data_dir / "reference").as_posix(): f for f in json.loads(proc.stdout)["files"]}
    assert len(verdicts) == len(files)
    assert verdicts["v1.2.8/tiny_model.json"]["valid"] and verdicts["v0.3.2/tiny_template.json"]["valid"]
    for name in ("v0.2.0/readme_model.json", "v0.1.8/example_model.json"):
        assert not verdicts[name]["valid"] and verdicts[name]["problems"][0]["pointer"] is not None
    # a reference defect: labelled bloom 1.2.1 but written with 2.x's model_type (data/README.md)
    mislabelled = verdicts.pop("v1.2.8/tiny_version_1_2_1_model.json")
    assert {p["rule"] for p in mislabelled["problems"]} == {"schema"}
    for name, verdict in verdicts.items():
        pre_03 = name.startswith(("v0.1.", "v0.2."))  # releases 0.1/0.2: pre-0.3 layout
        if verdict["kind"] == "model" and not pre_03:  # state machines and multi-classifiers included
            assert verdict["valid"], (name, verdict["problems"])


def test_uniform_samples_warn_but_the_file_stays_valid(tmp_path: Path) -> None:
    """A final of two sentence patterns refilled: exit 0, 'valid' with a warning, and the warning in --json."""
    import model_train_protocol as lib

    protocol = lib.Protocol(name="shop", inputs=1)
    for i in range(10):
        protocol.add_context(f"The shop sells tools, fact {i}.")
    player = lib.TokenSet(tokens=(lib.UserToken("Player"),))
    clerk = lib.TokenSet(tokens=(lib.Token("Clerk"),))
    finals = {"Buy": lib.Token("Buy"), "Other": lib.Token("Other")}
    instruction = lib.Instruction(context=[player], response=clerk, final=list(finals.values()), name="talk")
    lines = {"Buy": [p.format(item) for p in ("I want to buy the {}.", "Can I get the {} from you?")
                     for item in ("hammer", "saw", "coil of rope", "lantern", "box of nails")],
             "Other": ["Is it going to rain?", "Nice hat.", "Where is the inn?", "who runs this place anyway"]}
    for final, texts in lines.items():
        for text in texts:
            instruction.add_sample([player.create_snippet(text)], clerk.create_snippet("Sure."), final=finals[final])
    protocol.add_instruction(instruction)
    path = protocol.save(path=tmp_path, version="2.0.1")  # one input line: bloom 0.3.2 needs two
    proc = mtp("validate", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ": valid (model 2.0.1), 1 warning" in proc.stdout
    assert "final 'Buy' [final.uniform-samples] its 10 samples follow 2 sentence patterns" in proc.stdout
    assert "mtp augment" in proc.stdout
    report = json.loads(mtp("validate", "--json", path).stdout)
    assert report["valid"] is True and report["files"][0]["problems"] == []
    assert [w["rule"] for w in report["files"][0]["warnings"]] == ["final.uniform-samples"]
