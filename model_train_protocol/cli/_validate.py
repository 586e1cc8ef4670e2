"""``mtp validate FILE...``: schema and rule checks of model and template files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import typer
from rich.markup import escape

from ..formats import SCHEMA_SAMPLES_PER_SET, FileCheck, FileProblem, check_file
from ._app import Consoles, app, consoles
from ._common import BYTES_PER_SAMPLE, existing, progress_bar

#: Longer messages (a schema error quoting a whole array) are cut on screen; --json keeps them whole.
MAX_SHOWN = 160


@app.command()
def validate(
    ctx: typer.Context,
    files: List[Path] = typer.Argument(
        ..., callback=existing(directory=False), help="Model (*_model.json) or template (*_template.json) files."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with every file's problems."),
    full_schema: bool = typer.Option(False, "--full-schema", help="Check every sample against the JSON Schema even "
                                     "on the slow jsonschema fallback, used when jsonschema-rs is not installed "
                                     f"(which checks the first {SCHEMA_SAMPLES_PER_SET} of each instruction; the "
                                     "loader and the rules still check them all). With jsonschema-rs every sample "
                                     "is always checked."),
) -> None:
    """Check model and template files: JSON, schema of their version, loading, and the MTP rules.

    Warnings (samples of a final too uniform to generalise) are printed but leave
    a file valid. Exit status: 0 when every file is valid, 1 when some file has
    problems, 2 on a usage error (including a file that does not exist).
    """
    io = consoles(ctx)
    sizes = [path.stat().st_size // BYTES_PER_SAMPLE for path in files]  # about one sample per unit
    results: list[FileCheck] = []
    with progress_bar(io.err, sum(sizes), "Validating", counts=False) as advance:
        for path, size in zip(files, sizes):
            advance(0, f"Validating {path.name}")
            results.append(check_file(path, full_schema))
            advance(size)
    if as_json:
        report = {"valid": all(r.valid for r in results), "files": [r.as_dict() for r in results]}
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for result in results:
            _print(io, result)
    if not all(r.valid for r in results):
        raise typer.Exit(1)


def _print(io: Consoles, result: FileCheck) -> None:
    what = result.kind if result.version is None else f"{result.kind} {result.version}"
    if result.kind != "unknown" and not result.schema_checked:
        what += ", no schema for this version"
    elif result.schema_samples_skipped:
        what += f", schema checked on the first {SCHEMA_SAMPLES_PER_SET} samples per instruction"
    name = escape(result.path)
    count = len(result.warnings)
    warned = f", {count} warning{'s' if count != 1 else ''}" if count else ""
    if result.valid:
        io.out.print(f"[green]✓[/] {name}: valid ({what}){warned}", highlight=False, soft_wrap=True)
    else:
        count = len(result.problems)
        io.out.print(f"[red]✗[/] {name}: {count} problem{'s' if count != 1 else ''} ({what}){warned}", highlight=False,
                      soft_wrap=True)
    for problem in result.problems:
        _print_problem(io, problem, "")
    for warning in result.warnings:
        _print_problem(io, warning, "[yellow]warning[/] ", cut=False)


def _print_problem(io: Consoles, problem: FileProblem, label: str, cut: bool = True) -> None:
    """One problem or warning; ``cut`` shortens long messages (a schema error quoting a whole array)."""
    pointer = None if problem.pointer is None else problem.pointer or "/"
    at = " ".join(x for x in (pointer, problem.where) if x)
    message = problem.message if not cut or len(problem.message) <= MAX_SHOWN else problem.message[: MAX_SHOWN - 1] + "…"
    io.out.print(f"  {label}[bold]{escape(at)}[/] [dim]\\[{problem.rule}][/] {escape(message)}", highlight=False,
                  soft_wrap=True)
    if problem.hint:
        io.out.print(f"    [cyan]fix:[/] {escape(problem.hint)}", highlight=False, soft_wrap=True)
