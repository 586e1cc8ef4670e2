"""``mtp export FILE --format F``: training data as JSONL for the usual fine-tuning tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..errors import MTPValidationError, MTPValueError
from ..text import file_name_problem
from ..export import FORMATS, export_protocol, total_examples
from ._app import app, consoles
from ._common import choice_option, file_argument, invalid, load_protocol, progress_bar


def default_out_dir(protocol_name: str, fmt: str) -> Path:
    """``./{name}_{format}``: the name comes from the file, so it must stay a plain folder name in the current one."""
    problem = file_name_problem(protocol_name)
    if problem is not None:
        raise MTPValueError(f"the protocol name {protocol_name[:60]!r} {problem}, so it cannot name the output "
                            "folder; pass --out DIR.")
    return Path(f"{protocol_name}_{fmt}")


@app.command()
def export(
    ctx: typer.Context,
    file: Path = file_argument("A model file (*_model.json) of any supported version."),
    fmt: str = choice_option(..., "--format", "-f", choices=tuple(FORMATS), help="openai-chat: OpenAI fine-tuning, "
                             "TRL; prompt-completion: TRL; alpaca / sharegpt: LLaMA-Factory, axolotl; text: any "
                             "causal-LM trainer."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", file_okay=False,
                                       help="Output directory [default: ./{name}_{format}]."),
    val_split: float = typer.Option(0.0, "--val-split", min=0.0, max=0.99,
                                    help="Fraction of examples for val.jsonl, stratified by instruction and final."),
    seed: int = typer.Option(0, "--seed", help="Seed of the train/validation split."),
    context: bool = typer.Option(False, "--context/--no-context", help="Add the protocol and instruction context "
                                 "lines as a system text: a system turn (chat formats), a system column (alpaca), or "
                                 "in front of the prompt (prompt-completion, text)."),
    guardrails: bool = typer.Option(True, "--guardrails/--no-guardrails",
                                    help="Include guardrail bad prompts as refusal examples."),
    as_json: bool = typer.Option(False, "--json", help="Print the files written and the counts as JSON."),
) -> None:
    """Write train.jsonl (and val.jsonl with --val-split) rendered exactly as the template's line format.

    Beside them: chat_template.jinja (chat formats: the raw MTP chat template with generation markers),
    added_tokens.json (tokens to add as special tokens), dataset_info.json (LLaMA-Factory) and axolotl.yaml.
    """
    io = consoles(ctx)
    protocol = load_protocol(file, io.err)
    name = fmt
    directory = out if out is not None else default_out_dir(protocol.name, name)
    total = total_examples(protocol, guardrails)
    try:
        with progress_bar(io.err, total, f"Exporting {name}") as advance:
            result = export_protocol(protocol, directory, name, val_split=val_split, seed=seed,
                                     context=context, guardrails=guardrails, progress=advance)
    except MTPValidationError as exc:
        raise invalid(exc.problems, file) from None
    if as_json:
        typer.echo(json.dumps({
            "format": name, "files": {split: str(path) for split, path in result.files.items()},
            "counts": result.counts, "guardrail_examples": result.guardrail_examples,
            "tool_files": [str(path) for path in result.tool_files.values()],
        }, ensure_ascii=False))
        return
    for split, path in result.files.items():
        io.out.print(f"wrote {escape(str(path))}: {result.counts[split]} examples", highlight=False, soft_wrap=True)
    io.out.print(f"{result.guardrail_examples} of them guardrail refusals; format {name}", highlight=False, soft_wrap=True)
    io.out.print(f"for fine-tuning tools: {escape(', '.join(sorted(result.tool_files)))}", highlight=False,
                 soft_wrap=True)
