"""Protocol statistics: counts per instruction and final, lengths, duplicates, warnings."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.rules import length_stats, protocol_stats


def two_finals(yes: int, no: int, duplicate: int = 0) -> mtp.Protocol:
    protocol = mtp.Protocol(name="p", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    a, b, out = mtp.TokenSet(mtp.Token("Aa")), mtp.TokenSet(mtp.Token("Bb")), mtp.TokenSet(mtp.Token("Cc"))
    y, n = mtp.Token("Yes"), mtp.Token("No")
    instruction = mtp.Instruction(context=[a, b], response=out, final=[y, n], name="decide")
    for i in range(yes):
        instruction.add_sample([f"a{i}", f"b{i}"], "yes" * (i + 1), final=y)
    for i in range(no):
        instruction.add_sample([f"c{i}", f"d{i}"], "no", final=n)
    for _ in range(duplicate):
        instruction.add_sample(["a0", "b0"], "yes", final=y)
    protocol.add_instruction(instruction)
    return protocol


def test_cheshire_cat_counts() -> None:
    stats = protocol_stats(build_protocol())
    assert stats.samples == 15 and [i.samples for i in stats.instructions] == [3, 6, 3, 3]
    assert stats.instructions[1].finals == {"Appear": 3, "Vanish": 3}
    assert [i.kind for i in stats.instructions] == ["basic", "basic", "basic", "extended"]
    (guardrail,) = stats.guardrails
    assert guardrail.samples == 3 and len(guardrail.guards) == 4
    assert [i.guardrail_examples for i in stats.instructions] == [3, 3, 0, 6]
    assert stats.context_lines == 18 and stats.protocol_context_lines == 12
    assert stats.lengths["input"].count == 30 and stats.lengths["prompt"].count == 3
    assert stats.tokens["UserToken"] == 1
    json.dumps(stats.as_dict())  # the JSON form is serializable


def test_thin_and_imbalanced_warnings() -> None:
    stats = protocol_stats(two_finals(30, 5), thin=10, imbalance=3.0)
    assert any("'No' has only 5" in w for w in stats.warnings)
    assert any("imbalanced" in w and "ratio 6.0" in w for w in stats.warnings)
    balanced = protocol_stats(two_finals(12, 10), thin=10, imbalance=3.0)
    assert balanced.warnings == []


def test_exact_duplicates() -> None:
    stats = protocol_stats(two_finals(5, 5, duplicate=2))
    assert stats.duplicates == 2 and stats.instructions[0].duplicates == 2
    assert any("2 exact duplicate" in w for w in stats.warnings)
    assert protocol_stats(two_finals(5, 5)).duplicates == 0


def test_unused_final_counts_zero() -> None:
    stats = protocol_stats(two_finals(4, 0))
    assert stats.instructions[0].finals == {"Yes": 4, "No": 0}
    assert any("'No' has only 0" in w for w in stats.warnings)


def test_length_stats_values() -> None:
    ls = length_stats([5, 1, 3, 2, 4, 10, 7, 6, 9, 8])
    assert (ls.count, ls.min, ls.median, ls.p90, ls.max) == (10, 1, 5.5, 9, 10)
    assert length_stats([]) is None
    assert length_stats([4]).p90 == 4


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=200))
def test_length_stats_order(values: list[int]) -> None:
    ls = length_stats(values)
    assert ls.min <= ls.median <= ls.max and ls.min <= ls.p90 <= ls.max
    assert sum(v <= ls.p90 for v in values) >= 0.9 * len(values)


def test_empty_protocol() -> None:
    stats = protocol_stats(mtp.Protocol(name="e", inputs=2))
    assert stats.samples == 0 and stats.instructions == [] and stats.lengths["input"] is None


def test_state_machine_counts_per_state() -> None:
    from core_helpers import npc_protocol, sm_protocol

    stats = protocol_stats(sm_protocol())
    assert stats.model_type == "state_machine"
    (machine,) = stats.instructions
    assert machine.kind == "state_machine" and machine.labels is None
    assert machine.states == {"Idle": 3, "Running": 3, "Stopped": 4}  # declared order
    assert not any("'<NON>'" in w for w in stats.warnings)  # the final of every sample says nothing
    assert any("state 'Idle' has only 3" in w for w in stats.warnings)
    protocol = npc_protocol()
    machine = protocol.instructions[0]
    machine.samples[:] = [s for s in machine.samples if s.output != "Attack"]
    machine.add_sample([machine.samples[0].inputs[0], "Fly!"], "Flying")  # undeclared: counted after the declared
    stats = protocol_stats(protocol)
    assert stats.instructions[0].states == {"Idle": 2, "Talk": 3, "Trade": 3, "Attack": 0, "Flying": 1}
    assert any("state 'Attack' has no sample" in w for w in stats.warnings)


def test_multi_classifier_counts_per_label_value() -> None:
    from core_helpers import mc_protocol

    protocol = mc_protocol()
    protocol.instructions[0].add_sample(["Hm?"], {"emotion": "happy", "intent": "question"})
    stats = protocol_stats(protocol)
    assert stats.model_type == "multi_classifier"
    (classifier,) = stats.instructions
    assert classifier.states is None
    assert classifier.labels == {"emotion": {"happy": 3, "sad": 2}, "intent": {"question": 3, "statement": 2}}
    assert json.loads(json.dumps(stats.as_dict()))["instructions"][0]["labels"]["intent"]["question"] == 3
    assert protocol_stats(build_protocol()).model_type == "generative"
