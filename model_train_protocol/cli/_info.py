"""``mtp info FILE``: what a model file holds, and warnings about thin or imbalanced data."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..rules import IMBALANCE_RATIO, THIN_FINAL_SAMPLES, LengthStats, ProtocolStats, protocol_stats
from ._app import Consoles, app, consoles
from ._common import file_argument, load_protocol


@app.command()
def info(
    ctx: typer.Context,
    file: Path = file_argument("A model file (*_model.json) of any supported version."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
    thin: int = typer.Option(THIN_FINAL_SAMPLES, min=1, help="Warn about finals with fewer samples than this."),
    imbalance: float = typer.Option(IMBALANCE_RATIO, min=1.0, help="Warn when an instruction's largest final "
                                    "has this many times the samples of its smallest."),
) -> None:
    """Show instructions, samples per final, guardrails, tokens, context and string lengths of a model file."""
    io = consoles(ctx)
    stats = protocol_stats(load_protocol(file, io.err), thin=thin, imbalance=imbalance)
    if as_json:
        typer.echo(json.dumps(stats.as_dict(), indent=2, ensure_ascii=False))
        return
    _print(io, stats)


def _print_answers(io: Consoles, stats: ProtocolStats) -> None:
    """States of a state machine and label values of a multi-classifier, each with its sample count."""
    for s in stats.instructions:
        if s.states is not None:
            table = Table(title="States", title_justify="left")
            table.add_column("state", overflow="fold")
            table.add_column("samples", justify="right")
            for state, n in s.states.items():
                table.add_row(escape(state), str(n))
            io.out.print(table)
        if s.labels is not None:
            table = Table(title="Labels" if len(stats.instructions) == 1 else f"Labels ({escape(s.name)})",
                          title_justify="left")
            for column, justify in (("label", "left"), ("value", "left"), ("samples", "right")):
                table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
            for label, counts in s.labels.items():
                for value, n in counts.items():
                    table.add_row(escape(label), escape(value), str(n))
            io.out.print(table)


def _print(io: Consoles, stats: ProtocolStats) -> None:
    io.out.print(
        f"[bold]{escape(stats.name)}[/]: {escape(stats.model_type)} model, {len(stats.instructions)} instruction(s), "
        f"{stats.samples} samples, inputs={stats.inputs}, encrypt={stats.encrypt}, {stats.context_lines} context "
        f"lines ({stats.protocol_context_lines} protocol)", highlight=False, soft_wrap=True)

    table = Table(title="Instructions", title_justify="left")
    for column, justify in (("instruction", "left"), ("type", "left"), ("samples", "right"),
                            ("samples per final", "left"), ("refusals", "right"), ("duplicates", "right"),
                            ("context", "right")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for s in stats.instructions:
        finals = ", ".join(f"{escape(name)} {n}" for name, n in s.finals.items())
        table.add_row(escape(s.name), s.kind, str(s.samples), finals, str(s.guardrail_examples),
                      str(s.duplicates), str(s.context_lines))
    io.out.print(table)
    _print_answers(io, stats)

    if stats.guardrails:
        table = Table(title="Guardrails", title_justify="left")
        table.add_column("bad output")
        table.add_column("bad-prompt samples", justify="right")
        table.add_column("guards (instruction\\[input line])", overflow="fold")
        for g in stats.guardrails:
            table.add_row(escape(g.bad_output), str(g.samples), escape(", ".join(g.guards)))
        io.out.print(table)

    table = Table(title="String lengths (characters)", title_justify="left")
    for column in ("strings", "count", "min", "median", "p90", "max"):
        table.add_column(column, justify="left" if column == "strings" else "right")
    for name, ls in stats.lengths.items():
        if isinstance(ls, LengthStats):
            table.add_row(name, str(ls.count), str(ls.min), f"{ls.median:g}", str(ls.p90), str(ls.max))
    io.out.print(table)

    kinds = ", ".join(f"{n} {kind}" for kind, n in stats.tokens.items())
    io.out.print(f"tokens: {sum(stats.tokens.values())} ({kinds})", highlight=False, soft_wrap=True)
    io.out.print(f"exact duplicate samples: {stats.duplicates}", highlight=False, soft_wrap=True)
    for warning in stats.warnings:
        io.err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
