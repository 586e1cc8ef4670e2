"""``mtp upgrade DIR``: add the runtime spec to a model directory written by an earlier version."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from ..model_dir import RUNTIME_FILE, upgrade_dir
from ._app import app, consoles
from ._common import existing


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    model_dir: Path = typer.Argument(..., callback=existing(directory=True), help="A directory written by `mtp train`."),
    as_json: bool = typer.Option(False, "--json", help="Print the file written as JSON."),
) -> None:
    """Add runtime.json to a model directory of an earlier version: compiled from its protocol, listed in its manifest.

    `mtp run`, `mtp chat`, `mtp serve` and `mtp export-model` read the runtime spec alone, and refuse a directory
    without it. A damaged directory is refused.
    """
    spec = upgrade_dir(model_dir)
    if as_json:
        typer.echo(json.dumps({"runtime": str(model_dir / RUNTIME_FILE), "instructions": list(spec.specs)},
                              ensure_ascii=False))
        return
    consoles(ctx).out.print(f"wrote {escape(str(model_dir / RUNTIME_FILE))} ({len(spec.instructions)} instruction(s)); "
                  "the manifest lists it", highlight=False, soft_wrap=True)
