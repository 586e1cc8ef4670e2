"""``mtp augment FILE``: a new model file with paraphrased samples from a local model, and a list to review."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..jsonio import write_json_atomic
from ._app import app, consoles, fail
from ._common import file_argument, load_protocol, threads_option


@app.command()
def augment(
    ctx: typer.Context,
    file: Path = file_argument("A model file (*_model.json) of any supported version."),
    out: Path = typer.Option(Path("."), "--out", "-o", file_okay=False,
                             help="Directory for {name}_augmented_model.json and {name}_augmented_review.json."),
    per_final: int = typer.Option(10, "--per-final", min=1, help="Samples paraphrased per final (at most one new "
                                  "sample each; a paraphrase that drifts to another final is dropped)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed: the same file and seed give the same lines."),
    threads: Optional[int] = threads_option(),
    force: bool = typer.Option(False, "--force", help="Overwrite the output files when they exist."),
    as_json: bool = typer.Option(False, "--json", help="Print the files written and the added samples as JSON."),
) -> None:
    """Add paraphrases of each final's user lines, written by SmolLM2-135M-Instruct (local, nothing downloaded).

    Writes a NEW model file (FILE is never changed) in FILE's version, and a review
    list of every added sample (its instruction and final, the line it rewrote, the new line):
    read it and delete what is wrong before training. Measured on the NPC
    benchmark it does not improve accuracy (docs/quality.md): a drafting aid.
    """
    from ..extras import use_threads
    from .._env import require_train_extra

    require_train_extra()
    io = consoles(ctx)
    protocol = load_protocol(file, io.err)
    name = f"{protocol.name}_augmented"
    target, review = out / f"{name}_model.json", out / f"{name}_review.json"
    existing = [str(p) for p in (target, review) if p.exists()]
    if existing and not force:
        raise fail(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; pass --force to "
                   "overwrite, or choose another --out.", 2)
    use_threads(threads)
    from ..train import AUGMENT_MODEL, augment_protocol

    with io.err.status("Paraphrasing…", spinner="dots") as status:
        added = augment_protocol(protocol, per_final, seed,
                                 progress=lambda done, total: status.update(f"Paraphrasing: {done}/{total} lines"))
    written = protocol.save(name=name, path=out)  # in FILE's version, which the loaded protocol keeps
    write_json_atomic(review, {"source": str(file), "model_file": str(written), "model": AUGMENT_MODEL,
                               "seed": seed, "added": [asdict(p) for p in added]})
    if as_json:
        typer.echo(json.dumps({"file": str(written), "review": str(review), "added": [asdict(p) for p in added]},
                              ensure_ascii=False))
        return
    for p in added:
        io.out.print(f"  + {escape(p.instruction)} {escape(p.final)}: {escape(p.text)}  [dim](from: {escape(p.source)})[/]",
                      highlight=False, soft_wrap=True)
    io.out.print(f"wrote {escape(str(written))} with {len(added)} added sample{'s' if len(added) != 1 else ''}; "
                  f"review them in {escape(str(review))}", highlight=False, soft_wrap=True)

