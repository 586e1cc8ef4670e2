"""``mtp eval DIR MODEL_FILE``: how well a trained model answers held-out prompts."""

from __future__ import annotations

import json
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import typer
from rich.markup import escape

from ._app import Consoles, app, consoles, fail
from ._common import file_argument, load_protocol, threads_option
from ._run import model_dir_argument, open_model, similarity_option, threshold_option


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    directory: Path = model_dir_argument(),
    file: Path = file_argument("A model file (*_model.json): the trained protocol (its validation split is used) "
                               "or another one with held-out samples (all of it is used)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", file_okay=False,
                                       help="Directory for eval_report.json, confusion.png and refusal_curve.png "
                                       "[default: DIR-eval]."),
    split: str = typer.Option("auto", "--split", help="auto (validation split of the trained protocol, else all), "
                              "val, train or all."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate at most this many examples."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of a table."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Longest answer text, in tokens "
                                             "[default: twice the protocol's longest answer]."),
    threshold: Optional[float] = threshold_option(),
    min_similarity: Optional[float] = similarity_option(),
    threads: Optional[int] = threads_option(),
) -> None:
    """Final accuracy, macro-F1 and per-final precision/recall, guardrail recall against false refusals across
    refusal thresholds (AUROC, refusal_curve.png), whether the prompts are really held out, response similarity,
    with a confusion matrix; per state (state machines) or per label (multi-classifiers) accuracy and confusion."""
    io = consoles(ctx)
    from ..eval import choice_tables, evaluate, per_final_table, select_cases, summary_table, sweep_table

    resolved = directory.resolve()
    target = out if out is not None else resolved.parent / f"{resolved.name}-eval"
    if resolved == target.resolve() or resolved in target.resolve().parents:
        raise fail(f"--out {target} is inside the model directory, whose files the manifest fixes; choose another.")
    protocol = load_protocol(file, io.err)
    model = open_model(io.err, directory, max_tokens, threshold=threshold, min_similarity=min_similarity, threads=threads)
    cases = select_cases(protocol, model.manifest, model.specs, split)
    total = min(len(cases.examples), limit or len(cases.examples))
    with _progress(io, total) as advance:
        report = evaluate(model, protocol, target, limit=limit, advance=advance, cases=cases)
    held_out = report["held_out"]
    if held_out["warning"]:
        _warn(io, held_out["warning"])
    if as_json:
        typer.echo(json.dumps({"source": report["source"], **report["summary"], "held_out": held_out,
                               "files": report["files"]}))
        return
    summary = report["summary"]
    table = summary_table(summary, f"{protocol.name}: {report['source']}", held_out)
    table.caption = " ".join(filter(None, (held_out["warning"] and f"WARNING: {held_out['warning']}",
                                           held_out["note"])))
    io.out.print(table)
    io.out.print(per_final_table(summary))
    for choice in choice_tables(summary):
        io.out.print(choice)
    sweep = sweep_table(summary["refusal"])
    if sweep is not None:
        io.out.print(sweep)
    if summary["refusal"]["note"]:
        io.out.print(escape(summary["refusal"]["note"]), highlight=False, soft_wrap=True)
    for path in report["files"]:
        io.out.print(f"wrote {escape(path)}", highlight=False, soft_wrap=True)


def _warn(io: Consoles, message: str) -> None:
    io.err.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def _progress(io: Consoles, total: int) -> Iterator[Callable[[int], None]]:
    """A bar on a terminal: each example costs a model run, so even a few dozen take seconds."""
    if not io.err.is_terminal:
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(console=io.err, transient=True) as progress:
        task = progress.add_task("Evaluating", total=total)
        yield lambda n: progress.advance(task, n)
