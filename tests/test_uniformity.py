"""Warnings for samples too uniform to generalise (``final.uniform-samples``): pattern-built finals warn, varied
ones do not, and the warning never makes a protocol or its file invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol as cheshire_cat
from model_train_protocol.formats import check_file
from core_helpers import shop_npc
from model_train_protocol.rules import MAX_FILLER_WORDS, SAMPLES_PER_PATTERN, count_patterns, uniformity_warnings

CLINC = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_dev.json"

ITEMS = ["iron sword", "lantern", "coil of rope", "healing potion", "map", "set of lockpicks", "torch", "shield"]
#: Ten wordings of one request, as different people write it (no two share a sentence pattern).
VARIED = ["I want to buy that sword.", "How much is the lantern? I'll take it.", "gimme a healing potion pls",
          "Could I purchase some rope from you?", "That shield over there, is it for sale?",
          "Put a torch on my tab, I need one for the caves.", "ill pay whatever for ur best map",
          "Do you have lockpicks? I'd like a set.", "Ring me up for two arrows.", "Is the axe on the wall still available?"]


def shop(buy: list[str], sell: list[str]) -> mtp.Protocol:
    """A one-instruction shop NPC (tests/core_helpers.shop_npc), guarded, one answer for both finals."""
    return shop_npc(buy, sell, reply="Right away.")


PATTERNED_SELL = [pattern.format(item) for pattern in ("I want to sell my {}.", "Would you buy this {} from me?")
                  for item in ITEMS[:5]]


def test_pattern_built_final_warns_and_varied_one_does_not() -> None:
    protocol = shop(VARIED, PATTERNED_SELL)
    assert protocol.validate() == []  # a warning, never a problem: the protocol still saves
    (warning,) = uniformity_warnings(protocol)
    assert warning.rule == "final.uniform-samples"
    assert warning.where == "instruction 'talk' final 'Sell'"
    assert "10 samples follow 2 sentence patterns (5.0 per pattern" in warning.message
    assert "e.g. 'would you buy this … from me'" in warning.message  # the largest pattern, most words kept
    assert "mtp augment" in warning.hint and "other wordings" in warning.hint
    assert warning.pointer == "/instruction/sets/0"


def test_the_fixed_scene_line_is_not_counted_and_few_samples_are_not_judged() -> None:
    assert uniformity_warnings(shop(VARIED[:3], ["Buy my sword.", "Buy my axe.", "Buy my map."])) == []
    assert uniformity_warnings(cheshire_cat()) == []


def test_file_with_warnings_is_valid(tmp_path: Path) -> None:
    path = shop(VARIED, PATTERNED_SELL).save(path=tmp_path)
    result = check_file(path)
    assert result.valid and result.problems == []
    assert [w.rule for w in result.warnings] == ["final.uniform-samples"]
    assert result.as_dict()["warnings"][0]["where"].endswith("final 'Sell'")  # 0.3.2 files name instructions by index


def _filled(patterns: int, fillers: list[list[str]]) -> list[list[str]]:
    """Each pattern (its own words, a slot in the middle) filled with every filler: one input line per sample."""
    return [[f"p{p}a p{p}b {' '.join(filler)} p{p}c"] for p in range(patterns) for filler in fillers]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.lists(st.lists(st.sampled_from(["red", "old", "iron", "axe", "map", "rope"]),
                                            min_size=1, max_size=MAX_FILLER_WORDS),
                                   min_size=2, max_size=8, unique_by=tuple))
def test_patterns_refilled_are_counted_as_their_patterns(patterns: int, fillers: list[list[str]]) -> None:
    count, largest = count_patterns(_filled(patterns, fillers))
    assert count == patterns
    assert largest is not None and "…" in largest


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh ", min_size=1, max_size=40), min_size=1, max_size=30))
def test_never_more_patterns_than_samples(texts: list[str]) -> None:
    count, _ = count_patterns([[t] for t in texts])
    assert 1 <= count <= len(texts)


def test_one_pattern_per_sample_when_fillers_are_too_long() -> None:
    long_filler = [["w"] * (MAX_FILLER_WORDS + 1), ["v"] * (MAX_FILLER_WORDS + 1)]
    assert count_patterns(_filled(1, long_filler))[0] == 2


@pytest.mark.skipif(not CLINC.is_file(), reason="../shared/data/clinc150 is not beside the repository")
def test_crowd_written_clinc150_queries_rarely_warn() -> None:
    """CLINC150's 10 queries per intent (120 intents): only the two intents written as two sentences with one
    word swapped warn ("how high is my credit limit for my … card")."""
    data = json.loads(CLINC.read_text(encoding="utf-8"))
    warned = []
    for domain, intents in data["domains"].items():
        for intent in intents:
            queries = [[q] for q, i in data["train"] if i == intent][:10]
            patterns, _ = count_patterns(queries)
            if len(queries) >= SAMPLES_PER_PATTERN * patterns:
                warned.append(intent)
    assert len(warned) <= 2, warned


def test_a_big_final_is_judged_on_a_spread_of_its_samples() -> None:
    """2,000 samples of two patterns (a number as the filler): judged on 200 of them, and still warned."""
    sell = [f"I want to sell my sword number {i}." if i % 3 else f"Would you buy sword {i} from me?"
            for i in range(2000)]
    (warning,) = uniformity_warnings(shop(VARIED, sell))
    assert "its 2000 samples (200 looked at, spread over them) follow 2 sentence patterns (100.0 per pattern" \
        in warning.message
