"""Scripts written for the reference's code API run unchanged and give the training data the reference wrote.

Each script in tests/data/reference_scripts/ builds one protocol of
shared/reference/data/README.md section 2 as a user of reference 0.8-1.2.8
(or 0.3.2, ``tiny_v032.py``) writes it, and saves it without naming a
layout: bloom 2.0.1 / template 2.1.0 as 1.2.8 does for the later API, bloom 0.3.2 for the 0.3.2 form
(compat.protocol). The saved file must hold what the reference
wrote in generated/ (tokens with values, keys, types, descriptions and bounds;
special_tokens; context; every set's lines, samples, finals, values, prompts,
guardrails and context) and validate against the reference's schema; the
same protocol in bloom 2.0.1 must equal the 1.2.8 file (names included).
Sets are compared by name, or by content where the layout has no names:
the reference's set order is random (FORMAT.md 6, defect 1). Each script saves
its files when run as a program (``if __name__ == "__main__":``); run under
another name it only builds its ``protocol``.

The state-machine and multi-classifier scripts (``sm`` and ``mc`` for 1.2.8,
``sm_v08`` for 0.5-0.8's ``state_machine=True``) save the reference's files byte for byte.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest

import model_train_protocol as mtp
from core_helpers import assert_schema_valid

SCRIPTS = Path(__file__).resolve().parents[1] / "data" / "reference_scripts"

#: script -> (file it saves, reference file with the same protocol in bloom 0.3.2, in bloom 2.0.1).
CASES = {
    "tiny": ("tiny_model.json", "generated/v0.3.2/tiny_model.json", "generated/v1.2.8/tiny_model.json"),
    "tiny_encrypted": ("tiny_encrypted_model.json", "generated/v0.3.2/tiny_encrypted_model.json",
                       "generated/v1.2.8/tiny_encrypted_model.json"),
    "numeric": ("numeric_model.json", None, "generated/v1.2.8/numeric_model.json"),
    "example": ("example_model.json", "generated/v0.3.2/example_model.rerun.json",
                "examples/schemas-3.2.3/bloom_2_0_1.json"),
    "ext": ("extended_only_model.json", "generated/v0.3.2/extended_only_model.json",
            "generated/v1.2.8/extended_only_model.json"),
    "ext_basic": ("extended_plus_basic_model.json", "generated/v0.3.2/extended_plus_basic_model.json",
                  "generated/v1.2.8/extended_plus_basic_model.json"),
    "tiny_v032": ("tiny_model.json", "generated/v0.3.2/tiny_model.json", None),
}


def run_script(name: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, main: bool = True) -> dict[str, Any]:
    """Run a script as ``python script.py`` would (``main``: it saves its files), in ``cwd``; its globals."""
    monkeypatch.chdir(cwd)
    return runpy.run_path(str(SCRIPTS / f"{name}.py"), run_name="__main__" if main else "reference_script")


def _sets(document: dict[str, Any], by_name: bool) -> dict[str, Any] | list[str]:
    sets = document["instruction"]["sets"]
    if by_name:
        return {s["name"]: s for s in sets}
    return sorted(json.dumps({k: v for k, v in s.items() if k != "name"}, sort_keys=True, ensure_ascii=False)
                  for s in sets)


def assert_same_training_data(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Everything a model is trained on is equal; the layout's own fields ($schema, version fields) may differ."""
    for field in ("name", "inputs", "encrypted", "valid", "context", "tokens", "special_tokens"):
        assert ours[field] == theirs[field], field
    assert ours["instruction"]["memory"] == theirs["instruction"]["memory"]
    named = all("name" in s for d in (ours, theirs) for s in d["instruction"]["sets"])
    assert _sets(ours, named) == _sets(theirs, named)


@pytest.mark.parametrize("script", sorted(CASES))
def test_script_runs_unchanged_and_saves_what_the_reference_wrote(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved, old_layout, new_layout = CASES[script]
    run_script(script, tmp_path, monkeypatch)
    document = json.loads((tmp_path / saved).read_text(encoding="utf-8"))
    # No version= given: the layout of the reference release whose API the script is written in.
    expected = "/v0/bloom_0_3_2.json" if script == "tiny_v032" else "/v2/bloom_2_0_1.json"
    assert document["$schema"].endswith(expected)
    assert_schema_valid(document)
    assert_schema_valid(json.loads((tmp_path / f"{document['name']}_template.json").read_text(encoding="utf-8")))
    for reference in (old_layout, new_layout):
        if reference is not None:
            assert_same_training_data(document, json.loads((shared_dir / reference).read_text(encoding="utf-8")))


@pytest.mark.parametrize("script", sorted(name for name, case in CASES.items() if case[1] is not None))
def test_saved_file_equals_the_reference_0_3_2_file_up_to_set_order(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved, old_layout, _ = CASES[script]
    protocol = run_script(script, tmp_path, monkeypatch, main=False)["protocol"]
    protocol.save(name=saved.removesuffix("_model.json"), path=tmp_path, version="0.3.2")
    ours = json.loads((tmp_path / saved).read_text(encoding="utf-8"))
    theirs = json.loads((shared_dir / old_layout).read_text(encoding="utf-8"))
    assert {k: v for k, v in ours.items() if k != "instruction"} == \
        {k: v for k, v in theirs.items() if k not in ("instruction", "$schema")} | {"$schema": ours["$schema"]}
    assert _sets(ours, False) == _sets(theirs, False)
    if len(ours["instruction"]["sets"]) == 1:  # one set: no random order to tell the bytes apart
        assert (tmp_path / saved).read_bytes() == (shared_dir / old_layout).read_bytes()


@pytest.mark.parametrize("script", sorted(name for name, case in CASES.items() if case[2] is not None))
def test_same_protocol_in_bloom_2_0_1_equals_the_1_2_8_file(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = run_script(script, tmp_path, monkeypatch)["protocol"]
    ours = protocol.to_json("2.0.1")
    assert_schema_valid(ours)
    theirs = json.loads((shared_dir / CASES[script][2]).read_text(encoding="utf-8"))
    assert {k: v for k, v in ours.items() if k != "instruction"} == {k: v for k, v in theirs.items() if k != "instruction"}
    assert ours["instruction"]["memory"] == theirs["instruction"]["memory"]
    assert _sets(ours, True) == _sets(theirs, True)


@pytest.mark.parametrize("script", sorted(name for name, case in CASES.items() if case[2] is not None))
def test_a_later_api_script_saves_the_1_2_8_file(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file a 1.2.8 script saves by default is 1.2.8's; byte for byte where the reference's set order is
    not random (one set)."""
    saved, _, new_layout = CASES[script]
    run_script(script, tmp_path, monkeypatch)
    ours = json.loads((tmp_path / saved).read_text(encoding="utf-8"))
    theirs = json.loads((shared_dir / new_layout).read_text(encoding="utf-8"))
    assert {k: v for k, v in ours.items() if k != "instruction"} == {k: v for k, v in theirs.items() if k != "instruction"}
    assert _sets(ours, True) == _sets(theirs, True)
    if len(theirs["instruction"]["sets"]) == 1:
        assert (tmp_path / saved).read_bytes() == (shared_dir / new_layout).read_bytes()


#: script -> the template 1.2.8 wrote for it.
TEMPLATES = {"tiny": "tiny", "tiny_encrypted": "tiny_encrypted", "numeric": "numeric", "ext": "extended_only",
             "ext_basic": "extended_plus_basic"}


def _without_documented_differences(template: dict[str, Any]) -> dict[str, Any]:
    """The template less what README.md says differs: example_usage, refusal keys in tokens.output, and the
    number placeholder after a NumToken final's key in output lines."""
    import re

    doc = {k: v for k, v in template.items() if k != "example_usage"}
    doc["tokens"] = {"input": template["tokens"]["input"],
                     "output": {k: v for k, v in template["tokens"]["output"].items() if not k.endswith("<UNK>_")}}
    doc["instructions"] = {name: {**body, "output": [re.sub(r"<num_[^>]*>\n<EOS>$", "\n<EOS>", line)
                                                     for line in body["output"]]}
                           for name, body in template["instructions"].items()}
    return doc


@pytest.mark.parametrize("script", sorted(TEMPLATES))
def test_a_later_api_script_saves_the_1_2_8_template_but_for_the_documented_differences(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = run_script(script, tmp_path, monkeypatch)["protocol"]
    ours = json.loads((tmp_path / f"{protocol.name}_template.json").read_text(encoding="utf-8"))
    theirs = json.loads((shared_dir / f"generated/v1.2.8/{TEMPLATES[script]}_template.json").read_text("utf-8"))
    assert ours["$schema"] == theirs["$schema"]
    assert _without_documented_differences(ours) == _without_documented_differences(theirs)


def test_guardrail_added_to_one_instruction_guards_no_other(
        tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """example: two instructions share the guarded line (Tree English Alice Talk); only one was guarded."""
    protocol = run_script("example", tmp_path, monkeypatch)["protocol"]
    sets = {s["name"]: s for s in protocol.to_json("2.0.1")["instruction"]["sets"]}
    assert [g["index"] for g in sets["alice_cat_alice_continue"]["guardrails"]] == [1]
    assert sets["alice_cat_alice_appear_disappear"]["guardrails"] == []
    assert sets["alice_cat_alice_instruction_numeric"]["guardrails"] == []


def test_guardrail_on_the_prompt_line_leaves_an_equal_input_line_unguarded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ext: input lines 1 and 2 are the same TokenSet; add_guardrail(…, 2) guards line 2 only."""
    protocol = run_script("ext", tmp_path, monkeypatch)["protocol"]
    (ext,) = protocol.to_json()["instruction"]["sets"]
    assert [g["index"] for g in ext["guardrails"]] == [2]


def test_the_saved_file_loads_and_saves_again_with_the_same_training_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_script("numeric", tmp_path, monkeypatch)
    first = json.loads((tmp_path / "numeric_model.json").read_text(encoding="utf-8"))
    again = mtp.Protocol.from_json(first).to_json()
    assert_same_training_data(again, first)


#: State machines and multi-classifiers: script -> (layout it writes, file the reference wrote, our file name).
MACHINES = {
    "sm": ("2.0.1", "generated/v1.2.8/sm_model.json"),  # 1.2.8: the model type comes from the instruction
    "sm_v08": ("1.2.0", "generated/v0.8.8/sm_model.json"),  # 0.8: Protocol(..., state_machine=True)
    "mc": ("2.0.1", "generated/v1.2.8/mc_model.json"),
}


@pytest.mark.parametrize("script", sorted(MACHINES))
def test_machine_script_runs_unchanged_and_saves_the_reference_file_byte_for_byte(
        script: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One set each, so no random order: the bytes are the reference's (states in declared order, as 1.2.8)."""
    layout, reference = MACHINES[script]
    protocol = run_script(script, tmp_path, monkeypatch)["protocol"]
    assert protocol.model_type == ("multi_classifier" if script == "mc" else "state_machine")
    saved = tmp_path / f"{protocol.name}_model.json"
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["$schema"].endswith(f"bloom_{layout.replace('.', '_')}.json")
    assert_schema_valid(document)
    assert_schema_valid(json.loads((tmp_path / f"{protocol.name}_template.json").read_text(encoding="utf-8")))
    assert saved.read_bytes() == (shared_dir / reference).read_bytes()


def test_state_machine_true_takes_only_a_state_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_script("sm_v08", tmp_path, monkeypatch, main=False)
    assert namespace["protocol"].version == "1.2.0"
    protocol = mtp.Protocol("sm", inputs=2, state_machine=True)
    basic = mtp.Instruction(context=[namespace["previous"], namespace["event"]], response=namespace["event"],
                            final=mtp.Token("Done"), name="basic")
    with pytest.raises(mtp.StateMachineError, match="state_machine=True"):
        protocol.add_instruction(basic)
