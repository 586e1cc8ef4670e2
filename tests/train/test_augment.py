"""Paraphrase augmentation: candidates kept only when they stay with their final, added as copies of their source
sample (the model is a stand-in here; tests/cli/test_augment.py runs SmolLM2)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch

import model_train_protocol as mtp
from model_train_protocol.train import CANDIDATES, augment_protocol
from model_train_protocol.train import _augment as augment_module
from model_train_protocol.train._augment import _clean, _sources

from core_helpers import shop_npc  # noqa: E402

BUY = [f"I want to buy the {item}." for item in ("sword", "lantern", "rope", "shield", "torch")]
SELL = [f"Would you buy my {item} from me?" for item in ("sword", "lantern", "rope", "shield", "torch")]


def shop() -> mtp.Protocol:
    return shop_npc(BUY, SELL, guarded=False)


class _Tokenizer:
    """Decodes a generated row to the candidate its last id names."""

    eos_token_id = 0

    def __init__(self, candidates: list[str]) -> None:
        self.candidates = candidates

    def apply_chat_template(self, messages, add_generation_prompt: bool, tokenize: bool) -> str:
        return messages[-1]["content"]

    def __call__(self, text: str, return_tensors: str):
        return type("Batch", (), {"input_ids": torch.tensor([[1, 2]])})()

    def decode(self, ids, skip_special_tokens: bool) -> str:
        return self.candidates[int(ids[-1])]


class _Model:
    def eval(self) -> None:
        pass

    def generate(self, ids, num_return_sequences: int, **_: object):
        return torch.tensor([[1, 2, i] for i in range(num_return_sequences)])


def test_only_candidates_that_stay_with_their_final_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per source: an echo of a training line, a Sell request, a Buy request, a word; each final keeps its own."""
    candidates = ["Paraphrase: I want to buy the sword.", "I'd like to sell you my old boots, would you buy them?",
                  '"I\'d like to get a sword, how much is it?"', "ok"]
    assert len(candidates) == CANDIDATES
    monkeypatch.setattr("model_train_protocol.train._model.load_base",
                        lambda base: (_Model(), _Tokenizer(candidates)))
    protocol = shop()
    before = list(protocol.instructions[0].samples)
    added = augment_protocol(protocol, per_final=1)
    instruction = protocol.instructions[0]
    assert instruction.samples[: len(before)] == before
    assert [(a.final, a.text, a.source) for a in added] == [
        ("Buy", "I'd like to get a sword, how much is it?", BUY[0]),
        ("Sell", "I'd like to sell you my old boots, would you buy them?", SELL[0])]
    new = instruction.samples[len(before)]
    assert new.inputs[0].string == "At the counter." and new.inputs[1].string == added[0].text
    assert new.output == "Buy: right away." and new.final.name == "Buy"
    assert protocol.validate() == []


def test_helpers() -> None:
    assert _clean(' "Hand me the map."\nParaphrase: more') == "Hand me the map."
    assert _clean("Rewritten: Switch it off.") == "Switch it off."
    assert _sources(list(range(30)), 6) == [0, 5, 10, 15, 20, 25]  # one per pattern written in a row
    assert _sources([3, 4], 5) == [3, 4]

