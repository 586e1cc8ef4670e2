"""An evaluation written out: a JSON report, a confusion-matrix PNG, the refusal curve's PNG, and tables for the
terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from rich.markup import escape
from rich.table import Table

from ..jsonio import dumps, write_atomic

__all__ = ["write_json", "write_confusion_png", "write_refusal_png", "summary_table", "per_final_table",
           "sweep_table", "choice_tables"]


def write_json(path: Path, report: dict[str, Any]) -> Path:
    write_atomic(path, dumps(report))
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


def write_confusion_png(path: Path, labels: Sequence[str], counts: Sequence[Sequence[int]], title: str) -> Path:
    """Expected finals down, predicted across; each cell shows its count."""
    plt = _pyplot()
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


def write_refusal_png(path: Path, curve: Sequence[dict[str, Any]], sweep: dict[str, Any], title: str) -> Path:
    """Off-topic recall (y) against false refusals (x) over every threshold (:func:`._metrics.refusal_curve`),
    the model's stored threshold and the best one on this set marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 5.0))
    ax.plot([p["false_refusals"] for p in curve], [p["off_topic_recall"] for p in curve], marker=".",
            label=f"thresholds (AUROC {sweep['auroc']:.3f})" if sweep.get("auroc") is not None else "thresholds")
    budget = sweep.get("false_refusal_budget")
    if budget is not None:
        ax.axvline(budget, color="grey", linestyle=":", label=f"{100 * budget:.0f}% false refusals")
    best = sweep.get("best_on_this_set")
    if best:
        ax.plot(best["false_refusals"], best["off_topic_recall"], "s", color="tab:green", markersize=8,
                label=f"best on this set within the budget: {best['threshold']:.3g}")
    mine = sweep.get("at_threshold")
    if mine:
        ax.plot(mine["false_refusals"], mine["off_topic_recall"], "*", color="tab:red", markersize=14,
                label=f"model's threshold: {mine['threshold']:.3g}")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false refusals (good prompts refused)")
    ax.set_ylabel("off-topic recall (bad prompts refused)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
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


def summary_table(summary: dict[str, Any], title: str, held_out: dict[str, Any] | None = None) -> Table:
    """The headline figures, the held-out check, then one row per instruction."""
    table = Table(title=_label(title, 80))
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("cases (good / bad prompts)", f"{summary['cases']} ({summary['good_prompts']} / {summary['bad_prompts']})"),
        ("final accuracy (good prompts)", _pct(summary["final_accuracy"])),
        ("guardrail recall (bad prompts refused)", _pct(summary["guardrail_recall"])),
        ("false refusals (good prompts refused)", _pct(summary["false_refusals"])),
        ("macro-F1 (finals and <UNK>)", "-" if summary["macro_f1"] is None else f"{summary['macro_f1']:.3f}"),
        ("response similarity (difflib ratio)", _pct(summary["response_similarity"])),
        ("exact responses", _pct(summary["exact_responses"])),
        ("latency p50", "-" if summary["latency_p50_s"] is None else f"{1000 * summary['latency_p50_s']:.1f} ms"),
        ("tokens/s", "-" if summary["tokens_per_s"] is None else f"{summary['tokens_per_s']:.0f}"),
    ]
    refusal = summary["refusal"]
    rows.append(("refusal AUROC (confidence)", "-" if refusal["auroc"] is None else f"{refusal['auroc']:.3f}"))
    near = summary.get("similarity_refusal") or {}
    if near.get("cases"):
        rows.append(("refusal AUROC (prompt similarity)", "-" if near["auroc"] is None else f"{near['auroc']:.3f}"))
    for side, label in (("off_topic", "off-topic refusals by"), ("in_scope", "false refusals by")):
        if near.get("refused_by", {}).get(side):
            rows.append((label, ", ".join(f"{why} {n}" for why, n in sorted(near["refused_by"][side].items()))))
    best = refusal["best_on_this_set"]
    if best:
        rows.append((f"off-topic recall at <= {100 * refusal['false_refusal_budget']:.0f}% false refusals "
                     "(threshold chosen on THIS set)", f"{_pct(best['off_topic_recall'])} at {best['threshold']:.4g}"))
    if held_out and held_out.get("duplicate_rate") is not None:
        counts = f"{held_out['exact_duplicates']} / {held_out['near_duplicates']}"
        rows.append(("prompts duplicating training (exact / near)", f"{_pct(held_out['duplicate_rate'])} ({counts})"))
        rows.append(("held out", "yes" if held_out["held_out"] else "NO"))
    rows += [(f"  {escape(name)}: accuracy", f"{_pct(v['final_accuracy'])} of {v['cases']}")
             for name, v in summary["per_instruction"].items()]
    for row in rows:
        table.add_row(*row)
    return table


def per_final_table(summary: dict[str, Any]) -> Table:
    """Precision, recall and F1 of each final (``<UNK>``: the refusal of bad prompts)."""
    macro = "-" if summary["macro_f1"] is None else f"{summary['macro_f1']:.3f}"
    table = Table(title=f"per final (macro-F1 {macro})")
    for name, justify in (("final", "left"), ("support", "right"), ("precision", "right"), ("recall", "right"),
                          ("F1", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name, v in summary["per_final"].items():
        table.add_row(escape(name), str(v["support"]), _pct(v["precision"]), _pct(v["recall"]), f"{v['f1']:.3f}")
    return table


def sweep_table(refusal: dict[str, Any]) -> Table | None:
    """Off-topic recall, false refusals and in-scope accuracy per threshold; None without confidence scores."""
    if not refusal["rows"]:
        return None
    mine = refusal["threshold"]
    best = refusal["best_on_this_set"]
    table = Table(title="refusal threshold sweep (refused: confidence < threshold, or the model chose <UNK>)")
    for name in ("threshold", "off-topic recall", "false refusals", "in-scope accuracy", ""):
        table.add_column(name, justify="right" if name else "left")
    for row in refusal["rows"]:
        marks = []
        if mine is not None and row["threshold"] == mine:
            marks.append("model's threshold")
        if best and row["threshold"] == best["threshold"]:
            marks.append(f"best with <= {100 * refusal['false_refusal_budget']:.0f}% false refusals on THIS set")
        table.add_row(f"{row['threshold']:.4g}", _pct(row["off_topic_recall"]), _pct(row["false_refusals"]),
                      _pct(row["in_scope_accuracy"]), "; ".join(marks))
    return table


def _matrix_table(title: str, matrix: dict[str, Any]) -> Table:
    """A confusion matrix: expected down, predicted across."""
    table = Table(title=_label(title, 80))
    table.add_column("expected / predicted")
    for name in matrix["labels"]:
        table.add_column(escape(_label(name)), justify="right")
    for name, row in zip(matrix["labels"], matrix["counts"]):
        table.add_row(escape(_label(name)), *map(str, row))
    return table


def choice_tables(summary: dict[str, Any]) -> list[Table]:
    """Per state machine: accuracy per state and the confusion matrix over states (``<UNK>``: refusals); per
    multi-classifier: exact-match and per-label accuracy, and a confusion matrix per label."""
    tables = []
    for name, scores in summary.get("choices", {}).items():
        if scores["kind"] == "state_machine":
            table = Table(title=f"{escape(name)}: per state (accuracy {_pct(scores['accuracy'])} of good prompts)")
            for column, justify in (("expected state", "left"), ("cases", "right"), ("correct", "right"),
                                    ("accuracy", "right")):
                table.add_column(column, justify=justify)  # type: ignore[arg-type]
            for state, v in scores["per_state"].items():
                table.add_row(escape(state), str(v["cases"]), str(v["correct"]), _pct(v["accuracy"]))
            tables += [table, _matrix_table(f"{name}: states (<UNK>: refused)", scores["confusion"])]
            continue
        table = Table(title=f"{escape(name)}: per label (all labels right: {_pct(scores['exact_match'])} "
                            f"of {scores['cases']})")
        for column, justify in (("label", "left"), ("cases", "right"), ("correct", "right"), ("accuracy", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for label, v in scores["per_label"].items():
            table.add_row(escape(label), str(v["cases"]), str(v["correct"]), _pct(v["accuracy"]))
        tables.append(table)
        tables += [_matrix_table(f"{name}: label {label!r}", v["confusion"]) for label, v in scores["per_label"].items()]
    return tables
