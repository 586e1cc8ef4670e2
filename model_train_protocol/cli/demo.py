"""``mtp demo``: the built-in Cheshire Cat example, end to end.

Builds the protocol, saves its two files and, when the ``[train]`` extra is
installed, trains a small model from scratch and asks it a few questions, so a
new user sees the whole path from Python description to answering model.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..examples.cheshire_cat import build_protocol
from ..protocol import Protocol
from ..train.extra import INSTALL_HINT, TrainExtraMissing, require_train_extra
from ._app import app, console

#: (instruction, input lines) the demo asks the trained model: training prompts and one off-topic line.
QUESTIONS = (
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "Can you tell me a way?")),
    ("alice_cat_alice_appear_disappear", ("But riddles are straighter than answers, if you know how to look at them.",
                                          "That does not make sense at all.")),
    ("alice_asks_the_cat", ("We're all mad here.", "But I don't want to go among mad people.",
                            "Why do you keep vanishing so suddenly?")),
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "what is the capital of Spain?")),
)


@app.command()
def demo(
    out: Path = typer.Option(Path("mtp-demo"), "--out", "-o", help="Directory for the generated files."),
    train: bool = typer.Option(True, "--train/--no-train", help="Also train a small model and ask it questions."),
) -> None:
    """Build the Cheshire Cat example, save its model and template files, train a small model and ask it questions."""
    protocol = build_protocol()
    model_path = protocol.save(path=out)
    template_path = protocol.template(path=out)
    _summary(protocol)
    console.print(f"wrote {model_path}")
    console.print(f"wrote {template_path}")
    if not train:
        return
    try:
        require_train_extra()
    except TrainExtraMissing:
        console.print(f"training skipped: the train extra is not installed; {INSTALL_HINT}", markup=False,
                      highlight=False, soft_wrap=True)
        return
    _train_and_ask(protocol, out / "model")


def _summary(protocol: Protocol) -> None:
    table = Table(title=f"Protocol {protocol.name!r}")
    table.add_column("instruction")
    table.add_column("type")
    table.add_column("samples", justify="right")
    table.add_column("finals")
    for instruction in protocol.instructions:
        table.add_row(instruction.name, instruction.kind, str(len(instruction.samples)),
                      ", ".join(t.name for t in instruction.finals))
    console.print(table)
    console.print(f"context lines: {len(protocol.context)} protocol + "
                  f"{sum(len(i.background) for i in protocol.instructions)} instruction")


def _train_and_ask(protocol: Protocol, model_dir: Path) -> None:
    from ..infer import Model
    from ..train import TrainConfig, train

    console.print(f"training a small model from scratch into {model_dir} (CPU, about a minute)...")
    result = train(protocol, model_dir, TrainConfig(val_split=0.0, seed=0))
    metrics = result.metrics
    console.print(f"trained {metrics['steps']} steps; training loss {metrics['first_train_loss']:.2f} -> "
                  f"{metrics['final_train_loss']:.3f}; loss curve in {model_dir / 'loss_curve.png'}")
    model = Model.load(model_dir)
    table = Table(title="The trained Cat answers")
    table.add_column("instruction")
    table.add_column("last input line")
    table.add_column("answer")
    table.add_column("final")
    for instruction, lines in QUESTIONS:
        answer = model.run(instruction, lines=list(lines))
        final = "refused (guardrail)" if answer.guardrail else answer.final
        table.add_row(instruction, lines[-1], answer.text, final)
    console.print(table)
