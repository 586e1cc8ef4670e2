"""The typer application shared by every command module, and the error boundary."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MTPError

app = typer.Typer(
    name="mtp",
    help="Model Train Protocol: validate, inspect, convert, export, train and run MTP models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Model Train Protocol: validate, inspect, convert, export, train and run MTP models."""


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print one clear error line on stderr and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def main() -> None:
    """Entry point of the ``mtp`` script: library errors become one line and exit 1, never a traceback."""
    try:
        app()  # click's standalone mode turns usage errors into a message and exit 2
    except MTPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc).splitlines()[0])}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]error:[/] interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: still one line; MTP_DEBUG=1 shows the traceback
        if os.environ.get("MTP_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] internal error ({type(exc).__name__}: {escape(str(exc))}); rerun with "
                          "MTP_DEBUG=1 and report the traceback", highlight=False, soft_wrap=True)
        sys.exit(1)
