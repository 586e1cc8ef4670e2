"""Everything the package takes from the process around it, in one place: the environment variables it reads,
the cache folder, and whether the optional extras (``[train]``, ``[serve]``) are installed.

Nothing else in the package touches ``os.environ`` (tests/test_env.py checks the source), so this module is the
list of what a user can set from outside. Values are read at each call, not at import, so a test or a job can
change them without reloading anything.

- ``MTP_CACHE_DIR``: the cache of converted bases and the sentence encoder (default
  ``$XDG_CACHE_HOME/mtp-toolkit``, ``XDG_CACHE_HOME`` defaulting to ``~/.cache``);
- ``MTP_MAX_FILE_BYTES``: the largest model, template, CSV or context file read (default 4 GiB);
- ``MTP_MAX_CONFIG_BYTES``: the largest JSON file of a trained-model directory read (default 256 MiB);
- ``MTP_DEBUG``: ``mtp`` shows an internal error's traceback, as ``mtp --verbose`` does;
- ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``: set by ``torchrun`` for a distributed training run.

It sits in the lowest layer (beside :mod:`errors`), since file limits, training, inference, serving and the
CLI all read it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Type

from .errors import MTPError, MTPValueError

__all__ = ["TrainExtraMissing", "require_train_extra", "TRAIN_INSTALL_HINT", "ServeExtraMissing",
           "require_serve_extra", "SERVE_INSTALL_HINT", "cache_root", "byte_limit", "debug",
           "hide_native_backtraces", "world_size", "rank", "local_rank"]


# ---- environment variables ----------------------------------------------------------------------------------


def cache_root() -> Path:
    """Where converted bases and the sentence encoder are kept: ``$MTP_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mtp-toolkit`` (``~/.cache``); training and inference both read it."""
    explicit = os.environ.get("MTP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mtp-toolkit"


def byte_limit(variable: str, default: int) -> int:
    """The size cap set by ``variable`` (a positive number of bytes), ``default`` when it is unset or empty."""
    raw = os.environ.get(variable)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise MTPValueError(f"{variable}={raw!r} must be a positive number of bytes, e.g. {variable}={default}.")
    return value


def debug() -> bool:
    """Whether ``MTP_DEBUG`` asks for an internal error's traceback (any non-empty value)."""
    return bool(os.environ.get("MTP_DEBUG"))


def hide_native_backtraces() -> None:
    """A Rust panic (a tampered tokenizer) prints a note, not a 100-frame backtrace: ``RUST_BACKTRACE=0``.

    The one variable the package sets, and only the ``mtp`` entry point does, for its own process.
    """
    os.environ["RUST_BACKTRACE"] = "0"


def world_size() -> int:
    """Processes of the training run (``WORLD_SIZE``, set by ``torchrun``; 1 when run alone)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank in the training run (``RANK``; 0 when run alone): rank 0 prints."""
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's rank on its machine (``LOCAL_RANK``; 0 when run alone): the GPU it uses."""
    return int(os.environ.get("LOCAL_RANK", "0"))


# ---- optional extras ------------------------------------------------------------------------------------------

#: mtp-toolkit is not on PyPI: it is installed from a clone of its repository, extras included.
TRAIN_INSTALL_HINT = 'pip install ".[train]" (in a clone of the mtp-toolkit repository)'
SERVE_INSTALL_HINT = 'pip install ".[serve,train]" (in a clone of the mtp-toolkit repository)'
_TRAIN_MODULES = ("torch", "transformers", "tokenizers", "safetensors")
#: Only looked up, not imported: the plots of training and `mtp eval` import it, an answer does not (0.25 s of
#: every `mtp run`).
_TRAIN_LOOKED_UP = ("matplotlib",)
_SERVE_MODULES = ("fastapi", "pydantic", "uvicorn")


class TrainExtraMissing(MTPError, ImportError):
    """A package of the ``[train]`` extra cannot be imported."""


class ServeExtraMissing(MTPError, ImportError):
    """A package of the ``[serve]`` extra cannot be imported."""


def _require(imported: tuple[str, ...], looked_up: tuple[str, ...], error: Type[MTPError], needs: str,
             hint: str) -> None:
    """Import ``imported`` and find ``looked_up`` (without importing it), or raise ``error`` naming the first
    package missing and ``hint``, the command that installs it."""
    for name in imported + looked_up:
        try:
            if name in looked_up:
                if importlib.util.find_spec(name) is None:
                    raise ImportError(f"No module named {name!r}")
            else:
                importlib.import_module(name)
        except ImportError as exc:
            raise error(f"{needs}, but {name!r} cannot be imported ({exc}); install it with: {hint}") from None


def require_train_extra(*more: str) -> None:
    """Import the training stack (plus ``more``, e.g. ``peft``) or raise :class:`TrainExtraMissing`."""
    _require(_TRAIN_MODULES + more, _TRAIN_LOOKED_UP, TrainExtraMissing, "training needs the [train] extra",
             TRAIN_INSTALL_HINT)


def require_serve_extra() -> None:
    """Import the server stack or raise :class:`ServeExtraMissing` with the install command."""
    _require(_SERVE_MODULES, (), ServeExtraMissing, "`mtp serve` needs the [serve] extra", SERVE_INSTALL_HINT)
