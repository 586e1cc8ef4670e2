"""``mtp template MODEL_FILE``: write the template file of a model file again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..errors import MTPValidationError
from ._app import app, consoles
from ._common import file_argument, load_protocol, unwritable

#: Template versions and the model versions whose layout they belong to.
TEMPLATE_TO_MODEL = {"1.2.0": "1.2.1", "2.1.0": "2.0.1"}


@app.command()
def template(
    ctx: typer.Context,
    file: Path = file_argument("A model file (*_model.json) of any supported version."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", file_okay=False,
                                       show_default=False, help="Directory for the template file (default: the model file's directory)."),
    version: Optional[str] = typer.Option(None, "--version", show_default=False, help="Layout: template 0.3.2 "
                                          "(default; 2.1.0 for state machines and multi-classifiers), 1.2.0 or 2.1.0, "
                                          "or the model version it goes with (0.3.2, 1.1.0, 1.2.x, 2.0.x)."),
    as_json: bool = typer.Option(False, "--json", help="Print the file written as JSON."),
) -> None:
    """Regenerate {name}_template.json from a model file."""
    io = consoles(ctx)
    protocol = load_protocol(file, io.err)
    directory = out if out is not None else file.parent
    options = {} if version is None else {"version": TEMPLATE_TO_MODEL.get(version.strip(), version)}
    try:
        written = protocol.template(path=directory, **options)
    except MTPValidationError as exc:
        raise unwritable(protocol, exc.problems, file, version) from None
    if as_json:
        typer.echo(json.dumps({"file": str(written)}, ensure_ascii=False))
        return
    io.out.print(f"wrote {escape(str(written))}", highlight=False, soft_wrap=True)
