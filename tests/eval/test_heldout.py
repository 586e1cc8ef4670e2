"""The held-out check: which evaluation prompts duplicate a training prompt, and when the set is not held out."""

from __future__ import annotations

import pytest

from model_train_protocol.eval import heldout_check, normalise, select_cases, training_cases, user_text
from model_train_protocol.examples.cheshire_cat import build_protocol as build_cheshire
from model_train_protocol.examples.support_intents import build_heldout, build_protocol as build_intents
from model_train_protocol.infer import instruction_specs
from model_train_protocol.rules import RenderedExample, render_protocol
from model_train_protocol.runtime import fill_input_lines
from model_train_protocol.model_dir import protocol_sha256


def manifest(protocol, val_split=0.1):
    return {"mtp": {"protocol_sha256": protocol_sha256(protocol),
                    "settings": {"val_split": val_split, "seed": 0, "guardrails": True}}}


@pytest.fixture(scope="module")
def intents():
    protocol = build_intents()
    return protocol, instruction_specs(protocol.template_json(), protocol)


def support(specs, customer: str, agent: str = "Hi there, what can I do for you?", bad: bool = False):
    """A support_intents prompt with these two lines (the customer's is the user's)."""
    spec = specs["support"]
    prompt = fill_input_lines(spec.input_lines, [agent, customer])
    return RenderedExample("support", prompt, "ok\n<UNK>\n<EOS>" if bad else "ok\nRefund\n<EOS>",
                           "<UNK>" if bad else "Refund", guardrail=bad)


def test_normalise_ignores_case_whitespace_and_punctuation():
    assert normalise("  I want a REFUND,   please!! ") == "i want a refund please"
    assert normalise("Where's my «parcel»?") == "where s my parcel"
    assert normalise("café 🍵") == "café 🍵"


@pytest.mark.parametrize("encrypt", [False, True])
def test_user_text_is_the_user_s_lines_of_every_sample(encrypt):
    protocol = build_cheshire()
    protocol.encrypt = encrypt
    specs = instruction_specs(protocol.template_json(), protocol)
    examples = [e for e in render_protocol(protocol, guardrails=False)]
    for instruction in protocol.instructions:
        mine = [e for e in examples if e.instruction == instruction.name]
        for example, sample in zip(mine, instruction.samples, strict=True):
            users = [sn.string for ts, sn in zip(instruction.context, sample.inputs) if ts.has_user]
            assert user_text(example, specs[instruction.name]) == "\n".join(users)


def test_exact_near_and_new_prompts(intents):
    _, specs = intents
    training = [support(specs, "I want a refund for my blender."), support(specs, "Tell me a joke.", bad=True)]
    examples = [
        support(specs, "i want a REFUND for my blender!!", agent="Hello, how can I help?"),  # exact once normalised
        support(specs, "I want a refund for my blenders."),          # near: 3-gram Jaccard 29/32
        support(specs, "I want a refund for my desk lamp."),         # same phrasing, other product: 0.55, new
        support(specs, "Where is my parcel? It has not arrived."),   # new
        support(specs, "Tell me a joke", bad=True),                  # an off-topic prompt trained on
    ]
    check = heldout_check(examples, training, specs, "all samples")
    assert (check["cases"], check["training_prompts"]) == (5, 2)
    assert (check["exact_duplicates"], check["near_duplicates"], check["duplicate_cases"]) == (2, 1, [0, 1, 4])
    assert check["duplicate_rate"] == 0.6
    assert not check["held_out"] and "3 of 5 prompts (60%)" in check["warning"]
    assert check["note"] == "" and "Jaccard >= 0.8" in check["method"]


def test_a_few_duplicates_are_reported_without_a_warning(intents):
    _, specs = intents
    training = [support(specs, "I want a refund for my blender.")]
    examples = [support(specs, "I want a refund for my blender.")] + [
        support(specs, f"Question number {n} about something else entirely.") for n in range(1, 5)]
    check = heldout_check(examples, training, specs, "all samples")
    assert (check["exact_duplicates"], check["near_duplicates"], check["duplicate_rate"]) == (1, 0, 0.2)
    assert check["held_out"] and check["warning"] == ""
    as_validation = heldout_check(examples, training, specs, "validation split")
    assert as_validation["held_out"]
    assert as_validation["note"].startswith("the validation split shares phrasings with training: 1 of 5")


def test_the_training_split_is_never_held_out(intents):
    protocol, specs = intents
    training = training_cases(protocol, manifest(protocol, 0.0), specs)
    assert training.source.startswith("training split")
    check = heldout_check(training.examples, training.examples, specs, training.source)
    assert check["duplicate_rate"] == 1.0 and not check["held_out"]
    assert "the evaluation set is the training split" in check["warning"]


def test_the_support_example_s_validation_split_shares_phrasings_and_its_heldout_file_does_not(intents):
    protocol, specs = intents
    training = training_cases(protocol, manifest(protocol), specs)
    assert training.source == "training split"
    val = select_cases(protocol, manifest(protocol), specs)
    check = heldout_check(val.examples, training.examples, specs, val.source)
    assert check["exact_duplicates"] > 0 and "shares phrasings with training" in check["note"]
    heldout = select_cases(build_heldout(), manifest(protocol), specs)
    clean = heldout_check(heldout.examples, training.examples, specs, heldout.source)
    assert (clean["cases"], clean["exact_duplicates"], clean["near_duplicates"]) == (130, 0, 0)
    assert clean["held_out"] and clean["warning"] == clean["note"] == ""


def test_training_cases_of_an_unknown_split_are_every_example(intents):
    protocol, specs = intents
    other = {"mtp": {"protocol_sha256": "0" * 64, "settings": {"val_split": 0.1, "seed": 0}}}
    everything = training_cases(protocol, other, specs)
    assert everything.source == "all samples" and len(everything.examples) == 230
    assert len(training_cases(protocol, manifest(protocol), specs).examples) == 230 - 23


def test_scoring_and_the_held_out_check_need_no_pytorch():
    import subprocess
    import sys

    script = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'transformers', 'matplotlib'):
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
from model_train_protocol.eval import heldout_check, select_cases, summarize, training_cases
from model_train_protocol.eval import summary_table
from model_train_protocol.examples.support_intents import build_protocol
from model_train_protocol.infer import instruction_specs
from model_train_protocol.model_dir import protocol_sha256
p = build_protocol()
specs = instruction_specs(p.template_json(), p)
m = {'mtp': {'protocol_sha256': protocol_sha256(p), 'settings': {'val_split': 0.1, 'seed': 0}}}
val = select_cases(p, m, specs)
check = heldout_check(val.examples, training_cases(p, m, specs).examples, specs, val.source)
summary_table(summarize([]), 't', check)
print(check['cases'], 'torch' in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["23", "False"]


@pytest.mark.parametrize("val_split, seed", [(0.1, 0), (0.2, 1), (0.3, 5)])
def test_evaluation_holds_out_what_export_held_out(tmp_path, val_split, seed):
    """``mtp eval --split val`` scores exactly the examples ``mtp export`` put in val.jsonl (same settings)."""
    from model_train_protocol.export import export_protocol, read_jsonl

    protocol = build_cheshire()
    specs = instruction_specs(protocol.template_json(), protocol)
    settings = {"mtp": {"protocol_sha256": protocol_sha256(protocol),
                        "settings": {"val_split": val_split, "seed": seed, "guardrails": True}}}
    chosen = select_cases(protocol, settings, specs, "val")
    export_protocol(protocol, tmp_path, "text", val_split=val_split, seed=seed)
    assert [e.text for e in chosen.examples] == [r["text"] for r in read_jsonl(tmp_path / "val.jsonl")]
