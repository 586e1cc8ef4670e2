"""The typer application shared by every command module, and the error boundary."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape

from .._env import debug as debug_from_env, hide_native_backtraces
from ..errors import MTPError

app = typer.Typer(
    name="mtp",
    help="Model Train Protocol: validate, inspect, convert, export, train and run MTP models.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich markup would eat "[default: ...]" and cut option names
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

#: Width of output to a file or pipe (no terminal to fit): wide enough that no table cuts a name.
NON_TERMINAL_WIDTH = 10_000

#: Key of ``--verbose`` in the root context's ``meta``.
_VERBOSE = "mtp.verbose"
#: Key of the invocation's :class:`Consoles` in the root context's ``meta``.
_CONSOLES = "mtp.consoles"


@dataclass(frozen=True)
class Consoles:
    """The consoles of one ``mtp`` invocation, made by the root callback from its options.

    Made per invocation (never a module's console changed by ``--quiet``) so
    that two invocations in one process, one of them quiet, do not affect each
    other.
    """

    #: Results: tables, "wrote ..." lines, answers.
    out: Console
    #: Progress bars, spinners and warnings on stderr (silenced by --quiet).
    err: Console

    @classmethod
    def create(cls, quiet: bool) -> "Consoles":
        """Consoles on the current stdout/stderr; to a file or a pipe, tables as wide as their content."""
        made = cls(Console(), Console(stderr=True, quiet=quiet))
        for output in (made.out, made.err):
            if not output.is_terminal:  # a file or a pipe: no terminal to fit, never cut a table
                output.width = NON_TERMINAL_WIDTH
        return made


def consoles(ctx: typer.Context) -> Consoles:
    """The consoles of the invocation whose (command's) context is ``ctx``, made by the root callback."""
    return ctx.find_root().meta[_CONSOLES]


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"mtp {__version__} (mtp-toolkit, Python {sys.version.split()[0]})")
        raise typer.Exit()


def verbose_asked(ctx: typer.Context) -> bool:
    """Whether ``mtp --verbose`` was given (kept in the root context, never in the environment)."""
    return bool(ctx.find_root().meta.get(_VERBOSE))


def _verbose_in(argv: list[str]) -> bool:
    """Whether the root options (those before the command's name) ask for --verbose / -v: what the error
    boundary needs once click has unwound its context."""
    for arg in argv:
        if not arg.startswith("-"):
            return False
        if arg in ("--verbose", "-v"):
            return True
    return False


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail: library log messages, and the "
                                 "traceback of an internal error."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, spinners or warnings on stderr; "
                               "results and errors still print."),
) -> None:
    """Model Train Protocol: validate, inspect, convert, export, train and run MTP models."""
    if verbose and quiet:
        raise fail("--verbose and --quiet exclude each other; pass one.", 2)
    ctx.meta[_VERBOSE] = verbose
    ctx.meta[_CONSOLES] = Consoles.create(quiet)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print one clear error line on stderr and return the exit to raise."""
    error_line(message)
    return typer.Exit(code)


def error_line(message: str) -> None:
    """``error: MESSAGE`` on stderr, always shown (``--quiet`` keeps errors), on a console of its own."""
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the ``mtp`` script: library errors become one line and exit 1, never a traceback
    (``mtp --verbose``, or ``MTP_DEBUG=1`` in the environment, shows an internal error's traceback)."""
    debug = _verbose_in(sys.argv[1:]) or debug_from_env()
    if not debug:
        hide_native_backtraces()
    try:
        app(prog_name="mtp")  # click's standalone mode turns usage errors into a message and exit 2
    except MTPError as exc:
        error_line(str(exc).splitlines()[0])
        sys.exit(1)
    except OSError as exc:
        error_line(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        error_line("interrupted")
        sys.exit(130)
    except BaseException as exc:  # a bug, not bad input: still one line; MTP_DEBUG=1 shows the traceback
        from ..model_dir import native_panic

        if debug or not (isinstance(exc, Exception) or native_panic(exc)):
            raise
        error_line(f"internal error ({type(exc).__name__}: {str(exc)[:300]}); rerun with `mtp --verbose ...` and "
                   "report the traceback")
        sys.exit(1)
