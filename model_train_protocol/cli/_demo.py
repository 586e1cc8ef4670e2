"""``mtp demo``: the built-in Cheshire Cat example, end to end.

Builds the protocol, saves its two files and, when the ``[train]`` extra is
installed, fine-tunes the pretrained base (SmolLM2) on it and asks it
questions: training prompts, a line in words the protocol never used, and an
off-topic question no guardrail sample lists, so a new user sees the whole
path from Python description to a model that answers what people type next.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ..examples.cheshire_cat import build_protocol
from ..authoring import Protocol
from .._env import TRAIN_INSTALL_HINT as INSTALL_HINT
from .._env import TrainExtraMissing, require_train_extra
from ._app import Consoles, app, consoles

#: (instruction, input lines, what the question is) the demo asks the trained model.
QUESTIONS = (
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "Can you tell me a way?"),
     "protocol sample"),
    ("alice_cat_alice_appear_disappear", ("But riddles are straighter than answers, if you know how to look at them.",
                                          "That does not make sense at all."), "protocol sample"),
    ("alice_asks_the_cat", ("We're all mad here.", "But I don't want to go among mad people.",
                            "Why do you keep vanishing so suddenly?"), "protocol sample"),
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "Which road should I take, then?"),
     "new wording"),
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "what is the capital of Spain?"),
     "guardrail sample"),
    ("alice_cat_alice_continue", ("Then it doesnt matter which way you go.", "how do I bake sourdough bread?"),
     "unseen off-topic"),
)


@app.command()
def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("mtp-demo"), "--out", "-o", help="Directory for the generated files."),
    train: bool = typer.Option(True, "--train/--no-train", help="Also train a model and ask it questions."),
    base: str = typer.Option("smollm2", "--base", help="smollm2 (pretrained, the default) or scratch (a small new "
                             "model that trains in seconds but only memorises its phrasings)."),
    as_json: bool = typer.Option(False, "--json", help="Print the files, the training figures and the answers as JSON."),
) -> None:
    """Build the Cheshire Cat example, save its model and template files, train a model and ask it questions."""
    io = consoles(ctx)
    protocol = build_protocol()
    model_path = protocol.save(path=out)
    template_path = protocol.template(path=out)
    result: dict[str, Any] = {"files": [str(model_path), str(template_path)], "trained": False}
    if not as_json:
        _summary(io, protocol)
        io.out.print(f"wrote {escape(str(model_path))}", highlight=False, soft_wrap=True)
        io.out.print(f"wrote {escape(str(template_path))}", highlight=False, soft_wrap=True)
    if train:
        try:
            require_train_extra()
        except TrainExtraMissing:
            result["skipped"] = f"the train extra is not installed; {INSTALL_HINT}"
            if not as_json:
                io.out.print(f"training skipped: {result['skipped']}", markup=False, highlight=False, soft_wrap=True)
        else:
            result.update(_train_and_ask(io, protocol, out / "model", base, show=not as_json), trained=True)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))


def _summary(io: Consoles, protocol: Protocol) -> None:
    table = Table(title=f"Protocol {protocol.name!r}")
    table.add_column("instruction")
    table.add_column("type")
    table.add_column("samples", justify="right")
    table.add_column("finals")
    for instruction in protocol.instructions:
        table.add_row(instruction.name, instruction.kind, str(len(instruction.samples)),
                      ", ".join(t.name for t in instruction.finals))
    io.out.print(table)
    io.out.print(f"context lines: {len(protocol.context)} protocol + "
                 f"{sum(len(i.background) for i in protocol.instructions)} instruction")


def _train_and_ask(io: Consoles, protocol: Protocol, model_dir: Path, base: str, show: bool) -> dict[str, Any]:
    from ..infer import Model
    from ..train import TrainConfig, train

    if show:
        what = "SmolLM2-135M (pretrained)" if base == "smollm2" else "a small new model from scratch"
        io.out.print(f"training {what} into {model_dir} (on a CPU: about a minute on two idle cores with bf16 "
                     "units, a few minutes without them or on busy cores; the loss shows as it goes)...",
                     highlight=False, soft_wrap=True)
    # check_examples=0: the demo asks its own questions below; the end-of-training check would answer 64 training
    # prompts more (about 20 s on two cores) to report memory, not quality
    # force: DIR/model is the demo's own folder, and a rerun of the demo replaces the model it trained before
    result = train(protocol, model_dir, TrainConfig(base=base, seed=0, check_examples=0,
                                                    progress=show and not io.err.quiet), force=True)
    metrics = result.metrics
    model = Model.load(model_dir)
    answers = []
    for instruction, lines, kind in QUESTIONS:
        answer = model.run(instruction, lines=list(lines))
        answers.append({"instruction": instruction, "question": kind, "lines": list(lines), "text": answer.text,
                        "final": answer.final, "guardrail": answer.guardrail, "refused_by": answer.refused_by,
                        "confidence": answer.confidence})
    if show:
        io.out.print(f"trained {metrics['steps']} steps; training loss {metrics['first_train_loss']:.2f} -> "
                     f"{metrics['final_train_loss']:.3f}; loss curve in {model_dir / 'loss_curve.png'}")
        _answers_table(io, answers)
    return {"model_dir": str(model_dir), "steps": metrics["steps"], "first_train_loss": metrics["first_train_loss"],
            "final_train_loss": metrics["final_train_loss"], "answers": answers}


def _answers_table(io: Consoles, answers: list[dict[str, Any]]) -> None:
    table = Table(title="The trained Cat answers")
    table.add_column("question")
    table.add_column("last input line")
    table.add_column("answer")
    table.add_column("final")
    for answer in answers:
        why = {"model": "guardrail", "similarity": "unlike every training line"}.get(answer["refused_by"],
                                                                                    answer["refused_by"])
        final = f"refused ({why or 'guardrail'})" if answer["guardrail"] else answer["final"]
        table.add_row(answer["question"], escape(answer["lines"][-1]), escape(answer["text"]), escape(final))
    io.out.print(table)
