"""``mtp chat DIR``: talk to a trained model; the conversation fills the instruction's earlier lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from ..errors import MTPValueError
from ._app import app, consoles
from ._common import threads_option
from ..text import text_problem
from ._run import (check_lines, describe, model_dir_argument, open_model, parse_numbers, similarity_option,
    template_option, threshold_option)

HELP = "Type a message and press Enter; /reset forgets the conversation, /quit (or end of input) leaves."


@app.command()
def chat(
    ctx: typer.Context,
    directory: Path = model_dir_argument(),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i", help="Instruction to chat with "
                                              "(optional when the model has only one)."),
    line: List[str] = typer.Option([], "--line", "-l", help="Starting text of the input lines, in template order: "
                                   "every line but the prompt line (which each message fills), or all of them; used "
                                   "until the conversation fills them (default: empty)."),
    number: List[str] = typer.Option([], "--number", "-n", help="Number placeholder values, as for `mtp run`."),
    as_json: bool = typer.Option(False, "--json", help="Print each answer as one JSON line."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Longest answer text, in tokens "
                                             "[default: twice the protocol's longest answer]."),
    threshold: Optional[float] = threshold_option(),
    min_similarity: Optional[float] = similarity_option(),
    template: Optional[Path] = template_option(),
    threads: Optional[int] = threads_option(),
) -> None:
    """Chat with one instruction: each message goes in the user's prompt line, earlier turns in the lines before."""
    io = consoles(ctx)
    lines, numbers = check_lines(line), parse_numbers(number)
    model = open_model(io.err, directory, max_tokens, template, threshold, min_similarity, threads)
    session = model.chat(instruction, lines or None, numbers)
    reconfigure = getattr(sys.stdin, "reconfigure", None)
    if reconfigure is not None:  # a line that is not UTF-8 reaches the check below instead of ending the chat
        reconfigure(errors="surrogateescape")
    interactive = sys.stdin.isatty()
    if interactive:
        io.err.print(f"[bold]{session.spec.name}[/] — {HELP}")
    while True:
        if interactive:
            io.err.print("[bold cyan]you>[/] ", end="")
        message = sys.stdin.readline()
        if not message:
            break
        message = message.strip()
        if message in ("/quit", "/exit"):
            break
        if message == "/reset":
            session.history.clear()
            continue
        if not message:
            continue
        problem = text_problem(message)
        if problem is not None:  # a line that is not valid UTF-8 (or holds NUL): say so and go on
            io.err.print(f"[bold red]error:[/] this message {problem}; type it again.", highlight=False)
            continue
        try:
            answer = session.send(message)
        except MTPValueError as exc:  # e.g. a structural token typed in the message: say so and go on
            io.err.print(f"[bold red]error:[/] {escape(str(exc).splitlines()[0])}", highlight=False, soft_wrap=True)
            continue
        if as_json:
            typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            io.out.print(describe(answer), highlight=False, soft_wrap=True)
