"""Evaluate a trained model: finals (macro-F1, per-final precision/recall), refusals across thresholds,
whether the evaluation set is really held out, response similarity.

    from model_train_protocol.eval import evaluate
    report = evaluate(model, protocol, out_dir="eval")   # eval_report.json, confusion.png, refusal_curve.png

Needs the ``[train]`` extra to run a model; scoring and reports do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ._cases import EvalSet, heldout_check, normalise, select_cases, training_cases, user_text
from ._metrics import (CaseResult, choice_scores, confusion, per_final_scores, refusal_auroc, refusal_curve,
                       refusal_sweep, run_cases, score_case, similarity, similarity_refusal, summarize)
from ._report import (MAX_LABEL, choice_tables, per_final_table, summary_table, sweep_table, write_confusion_png,
                      write_json, write_refusal_png)

if TYPE_CHECKING:
    from ..infer import Model
    from ..authoring import Protocol

__all__ = ["CaseResult", "EvalSet", "evaluate", "select_cases", "training_cases", "heldout_check", "summarize",
           "confusion", "per_final_scores", "refusal_sweep", "refusal_auroc", "refusal_curve", "summary_table",
           "REPORT_FILE", "CONFUSION_FILE", "REFUSAL_FILE", "normalise", "user_text", "choice_scores", "score_case",
           "similarity", "similarity_refusal", "MAX_LABEL", "choice_tables", "per_final_table", "sweep_table",
           "write_confusion_png", "write_refusal_png"]

REPORT_FILE = "eval_report.json"
CONFUSION_FILE = "confusion.png"
REFUSAL_FILE = "refusal_curve.png"


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

    Returns the report: ``source``, ``summary`` (with the refusal sweep at the
    model's ``threshold`` when it has one), ``held_out`` (duplicates of
    training prompts), ``confusion`` and every case. The refusal curve's PNG
    is written only when the answers carry confidence scores.
    """
    chosen = cases or select_cases(protocol, model.manifest, model.specs, split)
    examples = chosen.examples[:limit] if limit else chosen.examples
    results = run_cases(model, examples, advance)
    labels, counts = confusion(results)
    summary = summarize(results, getattr(model, "threshold", None))
    report = {
        "protocol": protocol.name,
        "source": chosen.source,
        "summary": summary,
        "held_out": _held_out(model, examples, chosen.source),
        "confusion": {"labels": labels, "counts": counts},
        "cases": [r.to_dict() for r in results],
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        title = f"{protocol.name}: {chosen.source}"
        files = [write_confusion_png(out / CONFUSION_FILE, labels, counts, title)]
        curve = refusal_curve(results)
        if curve:
            files.append(write_refusal_png(out / REFUSAL_FILE, curve, summary["refusal"], title))
        report["files"] = [str(out / REPORT_FILE), *map(str, files)]
        write_json(out / REPORT_FILE, report)
    return report


def _held_out(model: "Model", examples: list, source: str) -> dict[str, Any]:
    """:func:`heldout_check` against the training split of the protocol stored with the model (the one it was built
    with, else its directory's ``mtp_model.json``: evaluation reads the protocol, inference only the runtime spec)."""
    trained = getattr(model, "protocol", None)
    directory = getattr(model, "directory", None)
    if trained is None and directory is not None and model.manifest:
        from ..model_dir import stored_protocol

        trained = stored_protocol(directory)
    if trained is None:
        return {"cases": len(examples), "training_prompts": None, "exact_duplicates": None, "near_duplicates": None,
                "duplicate_rate": None, "duplicate_cases": [], "held_out": None, "warning": "", "method": "",
                "note": "the model directory's mtp_model.json could not be read, so no prompt was compared with "
                        "the training prompts.", "training_source": ""}
    training = training_cases(trained, model.manifest, model.specs)
    return {**heldout_check(examples, training.examples, model.specs, source), "training_source": training.source}
