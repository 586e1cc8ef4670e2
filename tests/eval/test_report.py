"""The evaluation report's plot and table stay readable (and quick) whatever the names (issue 13)."""

from __future__ import annotations

import pytest

from model_train_protocol.eval.report import MAX_LABEL, _label, write_confusion_png


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
