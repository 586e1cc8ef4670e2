"""``mtp train MODEL_FILE --out DIR``: train a model on a protocol, locally.

PyTorch and friends are imported only when the command runs, so the rest of
the CLI works without the ``[train]`` extra. Under ``torchrun`` (``torchrun
--nproc_per_node 2 --no-python mtp train ...``) every rank runs this command
and only rank 0 prints.
"""

from __future__ import annotations

import inspect
import json
import typing
from dataclasses import Field
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .._env import rank
from ..train import TrainConfig, option_name, settings
from ._app import Consoles, app, consoles, fail
from ._common import file_argument, load_protocol, require_valid


def _setting_option(setting: Field, hint: Any) -> inspect.Parameter:
    """The ``mtp train`` option of one TrainConfig field, from the field's default and metadata: a yes/no
    setting is a ``--name/--no-name`` pair, a setting without a default says its default in its help."""
    meta, name = setting.metadata, option_name(setting)
    flags = f"--{name}/--no-{name}" if bool in (hint, *typing.get_args(hint)) else f"--{name}"
    option = typer.Option(setting.default, flags, help=meta["help"], min=meta["low"], max=meta["high"],
                          show_default=setting.default is not None)
    return inspect.Parameter(setting.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option, annotation=hint)


def _with_setting_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` taking every TrainConfig field as an option besides its own parameters (its ``**chosen``):
    typer reads the options from the signature, built here from the fields, so none is written out twice."""
    own = [p for p in inspect.signature(command).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    hints = typing.get_type_hints(TrainConfig)
    head = [p for p in own if p.name not in ("force", "as_json")]
    tail = [p for p in own if p.name in ("force", "as_json")]
    options = [_setting_option(setting, hints[setting.name]) for setting in settings()]
    command.__signature__ = inspect.Signature(head + options + tail)  # type: ignore[attr-defined]
    return command


@app.command("train")
@_with_setting_options
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
    force: bool = typer.Option(False, "--force", help="Replace the trained model (or a checkpoints/ folder that "
                               "is not an interrupted run's) already in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's metrics as JSON instead of a table."),
    **chosen: Any,
) -> None:
    """Train a model on the protocol and write a Hugging Face directory with template and manifest."""
    from ..train import read_config_file, train
    from .._env import require_train_extra

    io = consoles(ctx)
    values = read_config_file(config_file) if config_file is not None else {}
    values.update({name: value for name, value in chosen.items() if _given(ctx, name)})
    if out is not None:
        values["out"] = str(out)
    if io.err.quiet:
        values["progress"] = False
    target = values.pop("out", None)
    if target is None:
        raise fail("the output directory is missing: pass --out DIR (or set `out` in the --config file).", 2)
    config = TrainConfig(**values)
    require_train_extra()

    protocol = load_protocol(model_file, io.err)
    require_valid(protocol, model_file)
    result = train(protocol, Path(target), config, force=force)
    if rank() == 0:
        from ..train import MIN_CALIBRATION_PROMPTS

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
