"""The report's tables and PNGs, from synthetic cases; they stay readable (and quick) whatever the names."""

from __future__ import annotations

import pytest
from rich.console import Console

from model_train_protocol.eval import (MAX_LABEL, CaseResult, per_final_table, refusal_curve, summarize, summary_table,
                                       sweep_table, write_confusion_png, write_refusal_png)
from model_train_protocol.eval._report import _label


def scored(expected: str, chosen: str, confidence: float | None, bad: bool = False) -> CaseResult:
    return CaseResult(instruction="chat", expected_final=expected, predicted_final=chosen, bad_prompt=bad,
                      refused=chosen == "<UNK>", expected_text="", predicted_text="", similarity=1.0, seconds=0.01,
                      new_tokens=1, confidence=confidence)


CASES = [scored("A", "A", 0.9), scored("B", "B", 0.8), scored("A", "B", 0.35), scored("<UNK>", "A", 0.3, bad=True),
         scored("<UNK>", "<UNK>", 0.95, bad=True)]


def text(table) -> str:
    console = Console(width=200, record=True, no_color=True)
    console.print(table)
    return console.export_text()


def test_sweep_table_marks_the_model_s_and_the_best_threshold():
    summary = summarize(CASES, threshold=0.5)
    shown = text(sweep_table(summary["refusal"]))
    best = summary["refusal"]["best_on_this_set"]
    assert best["threshold"] == pytest.approx(0.325)
    assert "model's threshold" in shown and "best with <= 5% false refusals on THIS set" in shown
    assert "0.325" in shown and "0.5 " in shown
    assert sweep_table(summarize([scored("A", "A", None)])["refusal"]) is None


def test_summary_and_per_final_tables():
    summary = summarize(CASES, threshold=0.5)
    held = {"duplicate_rate": 0.4, "exact_duplicates": 1, "near_duplicates": 1, "held_out": False}
    shown = text(summary_table(summary, "t", held))
    assert "macro-F1 (finals and <UNK>)" in shown and "refusal AUROC (confidence)" in shown
    assert "40.0% (1 / 1)" in shown and "NO" in shown
    assert "(threshold chosen on THIS set)" in shown and "100.0% at 0.325" in shown
    finals = text(per_final_table(summary))
    assert "A " in finals and "<UNK>" in finals and "50.0%" in finals


def test_refusal_png(tmp_path):
    summary = summarize(CASES, threshold=0.5)
    path = write_refusal_png(tmp_path / "curve" / "refusal_curve.png", refusal_curve(CASES), summary["refusal"], "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_labels_are_cut():
    assert _label("Cat") == "Cat"
    long = _label("x" * 10_000_000)
    assert len(long) == MAX_LABEL and long.endswith("…")


@pytest.mark.filterwarnings("ignore:Tight layout not applied")  # forty-character labels are wide; still drawn
def test_a_huge_name_still_gives_a_plot(tmp_path):
    pytest.importorskip("matplotlib")
    name = "n" * 10_000_000
    path = write_confusion_png(tmp_path / "c.png", [name, "Other"], [[1, 0], [0, 1]], name)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
