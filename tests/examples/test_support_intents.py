"""The intent example: sizes, determinism, and held-out data that really is held out."""

from __future__ import annotations

from collections import Counter

from model_train_protocol.examples import support_intents as si


def messages(protocol):
    return [s.inputs[1].string for s in protocol.instructions[0].samples]


def test_sizes_and_balance():
    train, heldout = si.build_protocol(), si.build_heldout()
    assert train.validate() == [] and heldout.validate() == []
    for protocol, per_intent in ((train, 50), (heldout, 25)):
        finals = Counter(s.final.name for s in protocol.instructions[0].samples)
        assert finals == {intent: per_intent for intent in si.INTENTS}
        (guardrail,) = protocol.guardrail_map().values()
        assert len(guardrail.samples) == 30
    assert train.encrypt  # hashed keys: answers must be mapped back to names


def test_deterministic():
    assert si.build_protocol().to_json() == si.build_protocol().to_json()
    assert si.build_heldout().to_json() == si.build_heldout().to_json()


def test_heldout_shares_no_message_phrasing_product_or_off_topic_prompt():
    train, heldout = si.build_protocol(), si.build_heldout()
    assert not set(messages(train)) & set(messages(heldout))
    assert not set(si.OFF_TOPIC_TRAIN) & set(si.OFF_TOPIC_HELDOUT)
    assert not set(si.TRAIN_PRODUCTS) & set(si.HELDOUT_PRODUCTS)
    for intent in si.INTENTS:
        assert not set(si.TRAIN_PATTERNS[intent]) & set(si.HELDOUT_PATTERNS[intent])
    assert not any(p in m for m in messages(heldout) for p in si.TRAIN_PRODUCTS)


def test_script_writes_both_protocols(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "model_train_protocol.examples.support_intents", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "support_intents_heldout_model.json", "support_intents_heldout_template.json",
        "support_intents_model.json", "support_intents_template.json"]
