"""``mtp run DIR --instruction NAME --line TEXT ...``: one answer from a trained model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MTPValueError
from ..text import check_text, text_problem
from ..infer import check_sampling
from ._app import app, consoles
from ._common import existing, threads_option

__all__ = ["open_model", "parse_numbers", "describe", "check_lines", "template_option", "threshold_option",
           "similarity_option"]


def model_dir_argument() -> Any:
    return typer.Argument(..., callback=existing(directory=True), help="A model directory written by `mtp train`.")


def template_option() -> Any:
    return typer.Option(None, "--template", help="The template file of a model directory trained elsewhere "
                        "(one without mtp_manifest.json).")


def threshold_option() -> Any:
    return typer.Option(None, "--threshold", min=0.0, max=1.0, help="Refuse (answer with the guardrail) when the "
                        "answer's confidence is below this [default: the threshold chosen at training; 0: off].")


def similarity_option() -> Any:
    return typer.Option(None, "--min-similarity", min=0.0, max=1.0, help="Refuse (answer with the guardrail) when a "
                        "guarded line's similarity to the training lines is below this [default: the thresholds "
                        "chosen at training; 0: off].")


def open_model(err: Console, directory: Path, max_tokens: Optional[int] = None, template: Optional[Path] = None,
               threshold: Optional[float] = None, min_similarity: Optional[float] = None,
               threads: Optional[int] = None) -> Any:
    """Load a trained model (PyTorch needed; a clear error says how to install it), a spinner on ``err``."""
    from .._env import require_train_extra

    require_train_extra()
    from ..infer import Model

    with err.status(f"Loading {directory}…", spinner="dots"):
        return Model.load(directory, max_text_tokens=max_tokens, template=template, threshold=threshold,
                          min_similarity=min_similarity, threads=threads)


#: Longest ``--number`` text: a list of a few hundred numbers; a 5,000-digit number is a mistake.
_MAX_NUMBER_TEXT = 10_000


def parse_numbers(values: List[str]) -> list[Any]:
    """``--number 5 --number "[1, 2, 3]"``: each an integer or a JSON list of integers, in placeholder order."""
    out = []
    for text in values:
        shown = text if len(text) <= 40 else text[:37] + "..."
        problem = f"--number {shown!r} is neither an integer nor a JSON list such as [1, 2, 3]"
        if len(text) > _MAX_NUMBER_TEXT or text_problem(text):
            raise MTPValueError(problem + ".")
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # JSONDecodeError, too many digits, NaN, nesting
            raise MTPValueError(problem + ".") from None
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in items):
            raise MTPValueError(problem + " of finite numbers.")
        out.append(value)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def check_lines(lines: List[str]) -> List[str]:
    """Input lines as given on the command line: valid UTF-8 without NUL (a mis-encoded argument is refused)."""
    return [check_text(text, f"--line {i + 1}") for i, text in enumerate(lines)]




def describe(answer: Any) -> str:
    """The answer as one or two readable lines."""
    final = f"{answer.final}" + (f" (key {answer.final_key})" if answer.final_key not in (answer.final, answer.final + "_") else "")
    note = ""
    if answer.guardrail:
        reasons = {"similarity": "  [refused: unlike the training lines]",
                   "confidence": "  [refused: not confident enough]"}
        unsure = answer.candidate not in ("", answer.final)
        note = escape(reasons.get(answer.refused_by or "", reasons["confidence"]) if unsure
                      else "  [refused by the guardrail]")
    shown = f"{escape(answer.text)}\n[dim]final:[/] [bold]{escape(final)}[/]{note}"
    if answer.state is not None:
        shown += f"  [dim]state:[/] [bold]{escape(answer.state)}[/]"
    if answer.labels is not None:
        shown += "  [dim]labels:[/] " + ", ".join(f"{escape(k)}=[bold]{escape(v)}[/]" for k, v in answer.labels.items())
    return shown


def _read_prompt(model: Any, prompt: str, instruction: Optional[str]) -> tuple[str, list[str], list[Any]]:
    """The instruction, lines and numbers of a whole prompt (of ``instruction`` when one is named)."""
    from ..infer import read_prompt

    specs = [model.spec(instruction)] if instruction else list(model.specs.values())
    if "\n" not in prompt:  # typed on one line: the two characters \n stand for line breaks
        prompt = prompt.replace("\\n", "\n")
    spec, lines, numbers = read_prompt(specs, prompt)
    return spec.name, lines, numbers


@app.command()
def run(
    ctx: typer.Context,
    directory: Path = model_dir_argument(),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i", help="Instruction name "
                                              "(optional when the model has only one)."),
    line: List[str] = typer.Option([], "--line", "-l", help="An input line, in template order; repeat for each."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="The whole prompt instead of --line/--number: "
                                         "the template's input lines filled, ending in <RUN> (a state machine's "
                                         "may leave out its response-set line, as game engines send it); "
                                         "on one line, \\n stands for a line break."),
    number: List[str] = typer.Option([], "--number", "-n", help="A number placeholder's value, in order: "
                                     "an integer, or a JSON list for a number list. Repeat for each."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
    sample: bool = typer.Option(False, "--sample", help="Sample instead of greedy decoding."),
    temperature: float = typer.Option(1.0, "--temperature", help="Sampling temperature (with --sample): a finite number above 0."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for --sample."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Longest answer text, in tokens "
                                             "[default: twice the protocol's longest answer]."),
    threshold: Optional[float] = threshold_option(),
    min_similarity: Optional[float] = similarity_option(),
    template: Optional[Path] = template_option(),
    threads: Optional[int] = threads_option(),
) -> None:
    """Answer one prompt: the lines fill the instruction's template, the answer always has the template's shape."""
    io = consoles(ctx)
    lines, numbers = check_lines(line), parse_numbers(number)
    if prompt is not None and (lines or numbers):
        raise MTPValueError("give either --prompt or --line/--number, not both.")
    check_sampling(temperature, seed, flags=True)
    model = open_model(io.err, directory, max_tokens, template, threshold, min_similarity, threads)
    if prompt is not None:
        instruction, lines, numbers = _read_prompt(model, check_text(prompt, "--prompt"), instruction)
    answer = model.run(instruction, lines, numbers, sample=sample, temperature=temperature, seed=seed)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        io.out.print(describe(answer), highlight=False, soft_wrap=True)
