"""``mtp import-csv FILE.csv``: the reference's no-code CSV layout as a model file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from ..formats import LAYOUTS, import_csv as import_rows
from ..errors import MTPFileError
from ..text import check_text
from ..jsonio import read_limited
from ._app import app, consoles, fail
from ._common import existing


def _context_text(path: Path) -> str:
    """The context file as UTF-8 text (size-capped, no special files); another encoding is one clear error."""
    data = read_limited(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MTPFileError(f"not UTF-8 text (byte {exc.start}); save the context file as UTF-8.", path=str(path)) from None
    return check_text(text, f"{path}:")


@app.command("import-csv")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., callback=existing(directory=False),
                                help="CSV with the columns Input, Output (or one column per label) and (optional) "
                                     "Reference."),
    name: Optional[str] = typer.Option(None, "--name", show_default=False,
                                       help="Protocol name (default: the CSV's file name)."),
    out: Path = typer.Option(Path("."), "--out", "-o", file_okay=False, help="Directory for the model and template files."),
    context: List[str] = typer.Option([], "--context", "-c", help="A protocol context line (repeatable); MTP needs "
                                      "ten context lines in total, References included."),
    context_file: Optional[Path] = typer.Option(None, "--context-file", callback=existing(directory=False),
                                                help="A text file with one protocol context line per line."),
    layout: str = typer.Option("reference", "--layout", help="reference: what reference 1.2.8 builds (a state "
                               "machine, or a multi-classifier for label columns); classifier: the 0.3.2-compatible "
                               "classifier."),
    version: Optional[str] = typer.Option(None, "--version", show_default=False,
                                          help="Model file version to write: 0.3.2, 1.1.0, 1.2.0, 1.2.1, 2.0.0 or "
                                               "2.0.1 (default: 2.0.1 for the reference layout, 0.3.2 for the "
                                               "classifier; 0.3.2 gives the classifier)."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts, labels, row issues and files as JSON."),
) -> None:
    """Build a protocol from a CSV as reference 1.2.8 does (Input, Output -> a state machine; Input and label
    columns -> a multi-classifier; Reference -> context; GUARDRAIL rows -> guardrail).

    Rows that cannot be used are listed as warnings with their row number.
    """
    io = consoles(ctx)
    lines = list(context)
    if context_file is not None:
        lines += [line.strip() for line in _context_text(context_file).splitlines() if line.strip()]
    if layout not in LAYOUTS:
        raise fail(f"--layout must be one of {', '.join(LAYOUTS)}, not {layout!r}.", 2)
    result = import_rows(file, name=name, context=lines, layout=layout, version=version)
    for issue in result.skipped:
        io.err.print(f"[yellow]warning:[/] {escape(str(file))}: {escape(str(issue))}", highlight=False, soft_wrap=True)
    problems = result.protocol.validate()
    if problems:
        for problem in problems:
            io.err.print(f"[yellow]problem:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        count = len(problems)
        raise fail(f"{file}: the imported protocol is invalid ({count} problem{'s' if count != 1 else ''} above); "
                   "fix the CSV or add context lines with --context.")
    model = result.protocol.save(path=out)
    template = result.protocol.template(path=out)
    if as_json:
        typer.echo(json.dumps({"kind": result.kind, "samples": result.samples,
                               "guardrail_samples": result.guardrail_samples,
                               "row_issues": [str(issue) for issue in result.skipped], "labels": result.labels,
                               "states": result.states, "files": [str(model), str(template)]}, ensure_ascii=False))
        return
    if result.kind == "classifier":
        answers = "labels: " + ", ".join(f"{label} -> {token}_" if label != token else label
                                         for label, token in result.labels.items())
    elif result.kind == "state_machine":
        answers = "state machine, states: " + ", ".join(next(iter(result.states.values()), []))
    else:
        answers = "multi-classifier, labels: " + "; ".join(f"{label} ({', '.join(values)})"
                                                         for label, values in result.states.items())
    io.out.print(f"{result.samples} samples, {result.guardrail_samples} guardrail prompts, "
                 f"{len(result.skipped)} row issue(s); {escape(answers)}", highlight=False, soft_wrap=True)
    io.out.print(f"wrote {escape(str(model))}", highlight=False, soft_wrap=True)
    io.out.print(f"wrote {escape(str(template))}", highlight=False, soft_wrap=True)
