"""An evaluation written out: a JSON report, a confusion-matrix PNG, and a table for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from rich.table import Table

from ..formats.jsonio import dumps, write_atomic

__all__ = ["write_json", "write_confusion_png", "summary_table"]


def write_json(path: Path, report: dict[str, Any]) -> Path:
    write_atomic(path, dumps(report))
    return path


def write_confusion_png(path: Path, labels: Sequence[str], counts: Sequence[Sequence[int]], title: str) -> Path:
    """Expected finals down, predicted across; each cell shows its count (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [_label(text) for text in labels]  # a 10-million-character name would take minutes to lay out
    title = _label(title, 80)
    size = max(4.0, 0.9 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_xlabel("predicted final")
    ax.set_ylabel("expected final")
    ax.set_title(title)
    top = max((max(row) for row in counts), default=0)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > top / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


#: Longest axis label of the confusion matrix, in characters.
MAX_LABEL = 40


def _label(text: str, most: int = MAX_LABEL) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def summary_table(summary: dict[str, Any], title: str) -> Table:
    """The headline figures, then one row per instruction."""
    table = Table(title=_label(title, 80))
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("cases (good / bad prompts)", f"{summary['cases']} ({summary['good_prompts']} / {summary['bad_prompts']})"),
        ("final accuracy (good prompts)", _pct(summary["final_accuracy"])),
        ("guardrail recall (bad prompts refused)", _pct(summary["guardrail_recall"])),
        ("false refusals (good prompts refused)", _pct(summary["false_refusals"])),
        ("response similarity (difflib ratio)", _pct(summary["response_similarity"])),
        ("exact responses", _pct(summary["exact_responses"])),
        ("latency p50", "-" if summary["latency_p50_s"] is None else f"{1000 * summary['latency_p50_s']:.1f} ms"),
        ("tokens/s", "-" if summary["tokens_per_s"] is None else f"{summary['tokens_per_s']:.0f}"),
    ]
    rows += [(f"  {name}: accuracy", f"{_pct(v['final_accuracy'])} of {v['cases']}")
             for name, v in summary["per_instruction"].items()]
    for row in rows:
        table.add_row(*row)
    return table
