"""Serve trained MTP models over HTTP (``mtp serve``): typed answers, model listing, OpenAI-compatible completions.

    from model_train_protocol.serve import create_app
    app = create_app(["cat-model"])              # or create_app({"cheshire_cat": Model.load("cat-model")})
    import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)

Needs the ``[serve]`` extra (FastAPI, uvicorn) besides ``[train]`` (PyTorch);
the app is imported on first use and says how to install what is missing.
Each model answers one request at a time on a thread of its own, and holds
at most ``queue_limit`` requests; the next gets 503 (see :mod:`.worker`).
"""

from __future__ import annotations

from typing import Any

from .._env import ServeExtraMissing, require_serve_extra
from .loading import load_models
from .worker import DEFAULT_QUEUE_LIMIT, ModelWorker, QueueFull

__all__ = ["create_app", "load_models", "DEFAULT_QUEUE_LIMIT", "ModelWorker", "QueueFull", "ServeExtraMissing",
           "require_serve_extra"]


def __getattr__(name: str) -> Any:
    """``create_app`` is imported on first use: this package imports without FastAPI (or PyTorch)."""
    if name == "create_app":
        require_serve_extra()
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
