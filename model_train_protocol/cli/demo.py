"""``mtp demo``: the built-in Cheshire Cat example, end to end."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..examples.cheshire_cat import build_protocol
from ._app import app, console


@app.command()
def demo(
    out: Path = typer.Option(Path("mtp-demo"), "--out", "-o", help="Directory for the generated files."),
) -> None:
    """Build the Cheshire Cat example protocol, save its model and template files, print a summary."""
    protocol = build_protocol()
    model_path = protocol.save(path=out)
    template_path = protocol.template(path=out)
    table = Table(title=f"Protocol {protocol.name!r}", show_lines=False)
    table.add_column("instruction")
    table.add_column("type")
    table.add_column("samples", justify="right")
    table.add_column("finals")
    for instruction in protocol.instructions:
        table.add_row(
            instruction.name,
            instruction.kind,
            str(len(instruction.samples)),
            ", ".join(t.name for t in instruction.finals),
        )
    console.print(table)
    console.print(f"context lines: {len(protocol.context)} protocol + "
                  f"{sum(len(i.background) for i in protocol.instructions)} instruction")
    console.print(f"wrote {model_path}")
    console.print(f"wrote {template_path}")
