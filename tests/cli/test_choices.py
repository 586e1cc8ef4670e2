"""``mtp run`` and ``mtp eval`` on a state machine and a multi-classifier directory: the game engine's prompt, state
and labels in the answer, per-state and per-label figures."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import mtp_in_process, write_model_dir  # noqa: E402

from model_train_protocol.examples.game_states import STATES, build_classifier, build_state_machine  # noqa: E402

ENGINE_PROMPT = r"<BOS>\nPrevious_\nIdle\nEvent_\nthe player waves\n<RUN>"


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    out = tmp_path_factory.mktemp("sm")
    protocol = build_state_machine()
    model_file = protocol.save(path=str(out))
    return write_model_dir(protocol, out / "model"), model_file


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    out = tmp_path_factory.mktemp("mc")
    protocol = build_classifier()
    model_file = protocol.save(path=str(out))
    return write_model_dir(protocol, out / "model"), model_file


def test_run_takes_the_game_engines_prompt_and_ours(machine):
    directory, _ = machine
    code, out, err = mtp_in_process("run", directory, "--prompt", ENGINE_PROMPT, "--json")
    assert code == 0, err
    engine = json.loads(out)
    code, out, err = mtp_in_process("run", directory, "--prompt", ENGINE_PROMPT.replace(r"<RUN>", r"State_\n<RUN>")
                                    .replace(r"\n", "\n"), "--json")
    assert code == 0, err
    ours = json.loads(out)
    code, out, err = mtp_in_process("run", directory, "-l", "Idle", "-l", "the player waves", "--json")
    assert code == 0, err
    assert engine == ours == json.loads(out)
    assert engine["state"] in STATES or engine["guardrail"]
    assert engine["labels"] is None


def test_run_prints_the_state_or_the_labels(machine, tagger):
    code, out, err = mtp_in_process("run", machine[0], "-l", "Idle", "-l", "a wolf appears")
    assert code == 0, err
    assert "state: " in out or "refused" in out
    code, out, err = mtp_in_process("run", tagger[0], "-l", "town", "-l", "Open the gate.")
    assert code == 0, err
    assert "labels: intent=" in out and ", emotion=" in out  # the state map's order


def test_a_prompt_and_lines_together_are_one_clear_error(machine):
    code, out, err = mtp_in_process("run", machine[0], "--prompt", ENGINE_PROMPT, "-l", "x")
    assert code == 1 and err.strip().startswith("error: ") and "--prompt" in err and "Traceback" not in err + out


def test_a_prompt_of_another_shape_is_one_clear_error(machine):
    code, out, err = mtp_in_process("run", machine[0], "--prompt", r"<BOS>\nPrevious_\nIdle\n<RUN>")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


def test_eval_reports_states_and_labels(machine, tagger, tmp_path):
    directory, model_file = machine
    code, out, err = mtp_in_process("eval", directory, model_file, "--split", "all", "--json", "--out", tmp_path / "sm")
    assert code == 0, err
    scores = json.loads(out)["choices"]["npc_state"]
    report = json.loads((tmp_path / "sm" / "eval_report.json").read_text())
    cases = report["cases"]
    assert sum(map(sum, scores["confusion"]["counts"])) == len(cases)
    assert sum(v["cases"] for v in scores["per_state"].values()) == len(cases)
    assert set(scores["per_state"]) == {c["expected_state"] or "<UNK>" for c in cases}
    code, out, err = mtp_in_process("eval", directory, model_file, "--split", "all", "--out", tmp_path / "sm2")
    assert code == 0, err
    assert "npc_state: per state" in out and "npc_state: states (<UNK>: refused)" in out
    code, out, err = mtp_in_process("eval", tagger[0], tagger[1], "--split", "all", "--out", tmp_path / "mc")
    assert code == 0, err
    assert "tags: per label" in out and "tags: label 'emotion'" in out and "tags: label 'intent'" in out
