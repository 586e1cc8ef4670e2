"""bench/npc/protocols.py: the three NPC training protocols build, validate and save, with enough samples per final."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "npc" / "protocols.py"


def _load():
    """bench/ is not a package on the test path: load the script from its file."""
    spec = importlib.util.spec_from_file_location("npc_protocols", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


npc = _load()


@pytest.mark.parametrize("name", npc.NPCS)
def test_training_protocol_validates_with_enough_samples_per_final(name):
    protocol = npc.build(name)
    assert protocol.validate() == []
    (instruction,) = protocol.instructions
    per_final = Counter(s.final.name for s in instruction.samples)
    assert per_final.keys() == {t.name for t in instruction.finals}
    assert min(per_final.values()) >= 25, per_final
    assert len({s.inputs[1].string for s in instruction.samples}) == len(instruction.samples)  # no repeats
    assert {s.inputs[0].string for s in instruction.samples} == {npc._NPCS[name].scene}
    (guardrail,) = protocol.guardrail_map().values()
    assert len(guardrail.samples) == 10


def test_build_from_given_samples_uses_the_final_replies():
    given = [("Could I buy that lantern?", "Buy"), ("Bye now!", "Leave"), ("I'd buy your rope.", "Buy"),
             ("Want my old boots?", "Sell"), ("Fix my cloak.", "Repair"), ("Hey!", "Greet")] * 3
    protocol = npc.build("shop", given, ["Is it raining in Rome?", "Tell me a riddle.", "Who are you really?"])
    assert protocol.validate() == []
    samples = protocol.instructions[0].samples
    assert [s.inputs[1].string for s in samples] == [line for line, _ in given]
    assert {s.output for s in samples if s.final.name == "Leave"} == set(npc._NPCS["shop"].replies["Leave"])
    assert [s.output for s in samples if s.final.name == "Buy"][:2] == list(npc._NPCS["shop"].replies["Buy"])


def test_unknown_final_or_npc_is_refused():
    with pytest.raises(ValueError, match="Attack"):
        npc.build("shop", [("Attack the wolves!", "Attack")])
    with pytest.raises(ValueError, match="blacksmith"):
        npc.build("blacksmith")


def test_script_saves_the_three_protocols(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], check=True, capture_output=True, timeout=120)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}_npc_{kind}.json" for name in npc.NPCS for kind in ("model", "template"))


@pytest.mark.parametrize("name", npc.NPCS)
def test_every_pattern_built_final_gets_the_uniformity_warning(name):
    """Six patterns per final, five fillers each: every final warns, counted as (about) six patterns."""
    from model_train_protocol.rules import uniformity_warnings

    protocol = npc.build(name)
    warnings = uniformity_warnings(protocol)
    (instruction,) = protocol.instructions
    assert [w.where.split("final ")[1].strip("'") for w in warnings] == [t.name for t in instruction.finals]
    assert all(w.rule == "final.uniform-samples" and "mtp augment" in w.hint for w in warnings)
    counted = [int(w.message.split(" follow ")[1].split()[0]) for w in warnings]
    assert all(5 <= n <= 7 for n in counted) and counted.count(6) >= len(counted) - 1, counted


@pytest.mark.parametrize("name", npc.NPCS)
@pytest.mark.parametrize("split", ["test", "tune"])
def test_held_out_prompts_written_by_players_get_none(name, split):
    """The held-out prompts (players' own wording, 5-20 per final) are varied: no warning."""
    import json

    from model_train_protocol.rules import uniformity_warnings

    held = json.loads((SCRIPT.parent / "heldout" / f"{name}_{split}.json").read_text(encoding="utf-8"))
    assert uniformity_warnings(npc.build(name, [tuple(p) for p in held["in_scope"]], held["off_topic"])) == []


@pytest.mark.parametrize("kind", ["state", "multi"])
@pytest.mark.parametrize("name", npc.NPCS)
def test_the_choice_forms_hold_the_same_lines_and_classes_as_the_generative_form(name, kind):
    generative, = npc.build(name).instructions
    protocol = npc.build_choice(name, kind=kind)
    assert protocol.validate() == []
    (choice,) = protocol.instructions
    assert choice.model_type == ("multi_classifier" if kind == "multi" else "state_machine")
    assert [[i.string for i in s.inputs] for s in choice.samples] == \
        [[i.string for i in s.inputs] for s in generative.samples]
    assert len(protocol.guardrail_map()) == (0 if kind == "multi" else 1)


def test_the_state_machine_script_writes_an_npc_and_summarises_eval_reports(tmp_path):
    import json

    script = SCRIPT.parents[1] / "state_machine_quality.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--npc", "quest"],
                          capture_output=True, text=True, check=True)
    assert "100 held-out prompts and 30 held-out off-topic prompts" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quest_npc_sm_heldout_model.json",
                                                          "quest_npc_sm_model.json"]
    # a report of three in-scope cases of two states (one wrong, one refused) and two off-topic cases
    case = {"bad_prompt": False, "refused": False, "correct": True, "expected_state": "Greet"}
    cases = [case, {**case, "correct": False, "expected_state": "Leave"},
             {**case, "correct": False, "refused": True},
             {**case, "bad_prompt": True, "refused": True}, {**case, "bad_prompt": True}]
    report = tmp_path / "eval_report.json"
    report.write_text(json.dumps({"protocol": "quest_npc_sm_heldout", "cases": cases,
                                  "summary": {"latency_p50_s": 0.012}}))
    table = subprocess.run([sys.executable, str(script), "--summarize", str(report)],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert table[-1] == "| quest_npc_sm | 33.3 % | 33.3 % | 50.0 % | 33.3 % | 12 ms |"
