"""``mtp convert FILE --to VERSION``: rewrite a model file in another format version."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from ..errors import MTPValidationError
from ._app import app, consoles, fail
from ._common import file_argument, load_protocol, unwritable


@app.command()
def convert(
    ctx: typer.Context,
    file: Path = file_argument("A model file (*_model.json) of any supported version."),
    to: str = typer.Option(..., "--to", "-t", help="Model file version to write: 0.3.2, 1.1.0, 1.2.0, 1.2.1, "
                    "2.0.0 or 2.0.1."),
    out: Path = typer.Option(Path("."), "--out", "-o", file_okay=False,
                             help="Directory for the converted {name}_model.json."),
    force: bool = typer.Option(False, "--force", help="Allow overwriting FILE itself."),
    as_json: bool = typer.Option(False, "--json", help="Print the file written and its version as JSON."),
) -> None:
    """Load a model file and save it as {name}_model.json in the layout of another version."""
    io = consoles(ctx)
    protocol = load_protocol(file, io.err)
    target = out / f"{protocol.name}_model.json"
    if target.resolve() == file.resolve() and not force:
        raise fail(f"converting would overwrite {file}; choose another directory with --out, or pass --force.", 2)
    try:
        written = protocol.save(path=out, version=to)
    except MTPValidationError as exc:
        raise unwritable(protocol, exc.problems, file, to) from None
    if as_json:
        typer.echo(json.dumps({"file": str(written), "version": to}, ensure_ascii=False))
        return
    io.out.print(f"wrote {escape(str(written))} (bloom {escape(to)})", highlight=False, soft_wrap=True)
