"""Tell the user, in one line, when the ``[serve]`` extra (FastAPI, uvicorn) is not installed."""

from __future__ import annotations

import importlib

from ..errors import MTPError

__all__ = ["ServeExtraMissing", "require_serve_extra", "INSTALL_HINT"]

INSTALL_HINT = 'pip install ".[serve,train]" (in a clone of the mtp-toolkit repository)'
_MODULES = ("fastapi", "pydantic", "uvicorn")


class ServeExtraMissing(MTPError, ImportError):
    """A package of the ``[serve]`` extra cannot be imported."""


def require_serve_extra() -> None:
    """Import the server stack or raise :class:`ServeExtraMissing` with the install command."""
    for name in _MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ServeExtraMissing(
                f"`mtp serve` needs the [serve] extra, but {name!r} cannot be imported ({exc}); install it with: "
                f"{INSTALL_HINT}"
            ) from None
