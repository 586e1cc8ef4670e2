"""Tell the user, in one line, when the ``[train]`` extra is not installed; where its models are cached; how
many CPU threads PyTorch uses (the one thread policy of every command and of ``Model.load``); transformers'
logging quieted for a block and restored after it.

Training, inference and evaluation all need that stack, so this check sits
below them (``model_train_protocol.train.extra`` re-exports it for the CLI).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import MTPError, MTPValueError

__all__ = ["TrainExtraMissing", "require_train_extra", "INSTALL_HINT", "cache_root", "default_threads",
           "use_threads", "quiet_transformers"]

#: mtp-toolkit is not on PyPI: it is installed from a clone of its repository, extras included.
INSTALL_HINT = 'pip install ".[train]" (in a clone of the mtp-toolkit repository)'
_MODULES = ("torch", "transformers", "tokenizers", "safetensors")
#: Only looked up, not imported: the plots of training and `mtp eval` import it, an answer does not (0.25 s of
#: every `mtp run`).
_LOOKED_UP = ("matplotlib",)


class TrainExtraMissing(MTPError, ImportError):
    """A package of the ``[train]`` extra cannot be imported."""


def require_train_extra(*more: str) -> None:
    """Import the training stack (plus ``more``, e.g. ``peft``) or raise :class:`TrainExtraMissing`."""
    for name in _MODULES + more + _LOOKED_UP:
        try:
            if name in _LOOKED_UP:
                if importlib.util.find_spec(name) is None:
                    raise ImportError(f"No module named {name!r}")
            else:
                importlib.import_module(name)
        except ImportError as exc:
            raise TrainExtraMissing(
                f"training needs the [train] extra, but {name!r} cannot be imported ({exc}); install it with: {INSTALL_HINT}"
            ) from None


def cache_root() -> Path:
    """Where converted bases and the sentence encoder are kept: ``$MTP_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mtp-toolkit`` (``~/.cache``); training and inference both read it."""
    explicit = os.environ.get("MTP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mtp-toolkit"


def default_threads() -> int:
    """CPU threads when none are asked for: the cores this process may use that the load average leaves free,
    at least one.

    PyTorch's own default takes every core, and its threads spin-wait for each other: on a busy 2-core machine a
    SmolLM2-sized answer took a median 10.3 s with two threads against 3.1 s with one (docs/inference.md,
    "Threads"). On an idle machine this is every core, as PyTorch would take.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        busy = 0.0
    return max(1, min(usable, round(usable - busy)))


def use_threads(threads: int | None) -> int:
    """Set PyTorch's CPU threads for this process: ``threads``, or :func:`default_threads` when None; return it."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise MTPValueError(f"threads must be a whole number of at least 1 (or None for the default), got {threads!r}.")
    import torch

    chosen = default_threads() if threads is None else threads
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    return chosen


@contextmanager
def quiet_transformers(errors_only: bool = False) -> Iterator[None]:
    """transformers without its progress bars (and, with ``errors_only``, below error level) for the block, then
    as the caller had it: a library call must not change the process's logging for good."""
    from transformers.utils import logging as hf_logging

    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    if errors_only:
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
