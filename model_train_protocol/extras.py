"""Tell the user, in one line, when the ``[train]`` extra is not installed; where its models are cached.

Training, inference and evaluation all need that stack, so this check sits
below them (``model_train_protocol.train.extra`` re-exports it for the CLI).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from .errors import MTPError

__all__ = ["TrainExtraMissing", "require_train_extra", "INSTALL_HINT", "cache_root"]

#: mtp-toolkit is not on PyPI: it is installed from a clone of its repository, extras included.
INSTALL_HINT = 'pip install ".[train]" (in a clone of the mtp-toolkit repository)'
_MODULES = ("torch", "transformers", "tokenizers", "safetensors", "matplotlib")


class TrainExtraMissing(MTPError, ImportError):
    """A package of the ``[train]`` extra cannot be imported."""


def require_train_extra(*more: str) -> None:
    """Import the training stack (plus ``more``, e.g. ``peft``) or raise :class:`TrainExtraMissing`."""
    for name in _MODULES + more:
        try:
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
