"""Helpers the command modules share: file arguments, loading a model file, error lines, progress bars."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

from ..constants import DEFAULT_LAYOUT
from ..export import LENIENT_RULES
from ..authoring import Protocol
from ..errors import Problem
from ._app import fail

#: Work smaller than this (samples, bytes) finishes well within a second: no progress bar.
PROGRESS_THRESHOLD = 20_000
#: Rough size of one sample in a model file, to guess a file's sample count from its size.
BYTES_PER_SAMPLE = 300


def file_argument(help_text: str) -> Path:
    """A file argument that must exist: a missing file is a usage error (exit 2), told in one line."""
    return typer.Argument(..., callback=existing(directory=False), help=help_text)


def existing(directory: bool) -> Callable[[Any], Any]:
    """A click callback: the path must exist, be readable and be a directory (or not); else one error line, exit 2.

    click's own ``exists=True`` check prints a multi-line usage box instead.
    """

    def check(path: Any) -> Any:
        if isinstance(path, (list, tuple)):  # a repeatable argument: every path
            return [check(p) for p in path]
        if path is None:
            return path
        if not path.exists():
            problem = "does not exist"
        elif directory and not path.is_dir():
            problem = "is not a directory"
        elif not directory and path.is_dir():
            problem = "is a directory, not a file"
        elif not os.access(path, os.R_OK | (os.X_OK if directory else 0)):
            problem = "is not readable (permission denied)"
        else:
            return path
        raise fail(f"{path}: {problem}.", code=2)

    return check


def choice_option(default: Any, *names: str, choices: Sequence[str], help: str) -> Any:
    """An option that takes one of ``choices``; anything else is one error line (exit 2) naming them.

    typer's own Enum check answers in pydantic's words ("Value error, 'csv' is not one of ...") under a usage box.
    """

    def check(value: Any) -> Any:
        if value is None or value in choices:
            return value
        raise fail(f"{names[0]} {value!r} is not one of: {', '.join(choices)}.", code=2)

    return typer.Option(default, *names, callback=check, metavar="[" + "|".join(choices) + "]", help=help)


def threads_option() -> Any:
    """``--threads N``, the same on every command that runs a model (the policy: ``extras.default_threads``)."""
    return typer.Option(None, "--threads", min=1, show_default=False, help="PyTorch CPU threads; PyTorch's own "
                        "default, every core, is many times slower on a busy machine [default: the cores other work "
                        "leaves free, at least 1].")


def load_protocol(path: Path, err: Console) -> Protocol:
    """Read a model file of any supported version; a spinner shows on ``err`` while a big file loads."""
    if not _show(err, path.stat().st_size // BYTES_PER_SAMPLE):
        return Protocol.load(path)
    with err.status(f"Loading {path.name}…", spinner="dots"):
        return Protocol.load(path)


def invalid(problems: Sequence[Problem], path: Path) -> "typer.Exit":
    """The one-line error for an invalid protocol; ``mtp validate`` lists every problem."""
    count = len(problems)
    first = f", first: {problems[0]}" if problems else ""
    return fail(f"{path}: the protocol is invalid ({count} problem{'s' if count != 1 else ''}{first}); "
                f"run `mtp validate {path}` to see them all.")


def unwritable(protocol: Protocol, problems: Sequence[Problem], path: Path, version: str | None) -> "typer.Exit":
    """The error for a failed write: an invalid protocol, or one that breaks only the rules of ``version``.

    Newer layouts allow more (one input line, longer strings), so a file that
    is valid in its own version may not fit an older one.
    """
    if protocol.validate(LENIENT_RULES):
        return invalid(problems, path)
    count = len(problems)
    return fail(f"{path}: cannot be written as version {version or DEFAULT_LAYOUT} ({count} problem"
                f"{'s' if count != 1 else ''}, first: {problems[0]}); choose a newer version.")


def require_valid(protocol: Protocol, path: Path) -> None:
    """Stop with :func:`invalid` when the protocol breaks a rule."""
    problems = protocol.validate()
    if problems:
        raise invalid(problems, path)


@contextmanager
def progress_bar(err: Console, total: int, description: str, counts: bool = True) -> Iterator[Callable[..., None]]:
    """A progress bar on ``err`` for ``total`` items (only on a terminal, only for big jobs).

    Yields ``advance(n, description=None)``; a new description names the item in
    progress. ``counts=False`` hides "done/total" when the total is an estimate.
    """
    if not _show(err, total):
        yield lambda n, description=None: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               *((MofNCompleteColumn(),) if counts else ()), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int, description: str | None = None) -> None:
            progress.update(task, advance=n, **({"description": description} if description else {}))

        yield advance


def _show(err: Console, amount: int) -> bool:
    return err.is_terminal and amount >= PROGRESS_THRESHOLD
