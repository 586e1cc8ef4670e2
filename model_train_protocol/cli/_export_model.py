"""``mtp export-model DIR --format gguf``: a trained model for llama.cpp and the engine plugins built on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..export_gguf import QUANTS, export_gguf
from ._app import app, consoles
from ._common import choice_option, existing


@app.command("export-model")
def export_model(
    ctx: typer.Context,
    model_dir: Path = typer.Argument(..., callback=existing(directory=True), help="A directory written by `mtp train`."),
    fmt: str = choice_option(..., "--format", "-f", choices=("gguf",),
                             help="gguf: llama.cpp (llama-server, LLMUnity, NobodyWho)."),
    quant: str = choice_option("f16", "--quant", choices=tuple(QUANTS), help="Weight type: f16, or q8_0 (half the size)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", file_okay=False,
                                       help="Output directory [default: DIR-gguf beside DIR]."),
    strict_refusal: bool = typer.Option(False, "--strict-refusal", help="The grammars allow the guardrail's <UNK> "
                                        "only after its own refusal line (default: after any text line, as `mtp run` "
                                        "decodes)."),
    without_intent_head: bool = typer.Option(False, "--without-intent-head", help="Export a model whose intent "
                                             "head decides its finals anyway: the GGUF holds the language model "
                                             "alone (refused otherwise)."),
    as_json: bool = typer.Option(False, "--json", help="Print the files written as JSON."),
) -> None:
    """Write the model (LoRA merged) as a GGUF file, with a GBNF grammar per instruction, prompts.json and a README."""
    io = consoles(ctx)
    written = export_gguf(model_dir, out, quant=quant, strict_refusal=strict_refusal,
                          without_intent_head=without_intent_head)
    if as_json:
        typer.echo(json.dumps({"format": fmt, "quant": quant, "gguf": str(written["gguf"]),
                               "grammars": {k: str(v) for k, v in written["grammars"].items()},
                               "prompts": str(written["prompts"]), "readme": str(written["readme"]),
                               "notes": written.notes},
                              ensure_ascii=False))
        return
    io.out.print(f"wrote {escape(str(written['gguf']))} ({quant})", highlight=False, soft_wrap=True)
    io.out.print(f"{len(written['grammars'])} grammar(s), prompts.json and README.md in "
                 f"{escape(str(written['gguf'].parent))}", highlight=False, soft_wrap=True)
    for note in written.notes:
        io.out.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
