"""Evaluate a trained model: final accuracy, guardrail recall, false refusals, response similarity.

    from model_train_protocol.eval import evaluate
    report = evaluate(model, protocol, out_dir="eval")   # report.json, confusion.png

Needs the ``[train]`` extra to run a model; scoring and reports do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .cases import EvalSet, select_cases
from .metrics import CaseResult, confusion, run_cases, summarize
from .report import summary_table, write_confusion_png, write_json

if TYPE_CHECKING:
    from ..infer.model import Model
    from ..protocol import Protocol

__all__ = ["CaseResult", "EvalSet", "evaluate", "select_cases", "summarize", "confusion", "summary_table",
           "REPORT_FILE", "CONFUSION_FILE"]

REPORT_FILE = "eval_report.json"
CONFUSION_FILE = "confusion.png"


def evaluate(
    model: "Model",
    protocol: "Protocol",
    out_dir: str | Path | None = None,
    split: str = "auto",
    limit: int | None = None,
    advance: Callable[[int], None] = lambda n: None,
    cases: EvalSet | None = None,
) -> dict[str, Any]:
    """Score ``model`` on ``protocol``'s examples (``cases``, else :func:`select_cases` by ``split``); write
    the report files to ``out_dir``.

    Returns the report: ``source``, ``summary``, ``confusion`` and every case.
    """
    chosen = cases or select_cases(protocol, model.manifest, model.specs, split)
    examples = chosen.examples[:limit] if limit else chosen.examples
    results = run_cases(model, examples, advance)
    labels, counts = confusion(results)
    report = {
        "protocol": protocol.name,
        "source": chosen.source,
        "summary": summarize(results),
        "confusion": {"labels": labels, "counts": counts},
        "cases": [r.to_dict() for r in results],
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / REPORT_FILE, report)
        write_confusion_png(out / CONFUSION_FILE, labels, counts, f"{protocol.name}: {chosen.source}")
        report["files"] = [str(out / REPORT_FILE), str(out / CONFUSION_FILE)]
    return report
