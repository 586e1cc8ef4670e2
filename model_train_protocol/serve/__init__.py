"""Serve trained MTP models over HTTP (``mtp serve``): typed answers, model listing, OpenAI-compatible completions.

    from model_train_protocol.serve import create_app
    app = create_app(["cat-model"])              # or create_app({"cheshire_cat": Model.load("cat-model")})
    import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)

Needs the ``[serve]`` extra (FastAPI, uvicorn) besides ``[train]`` (PyTorch);
the app is imported on first use and says how to install what is missing.
Each model answers one request at a time on a thread of its own, and holds
at most ``queue_limit`` requests; the next gets 503 (see :mod:`._worker`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .._env import ServeExtraMissing, require_serve_extra
from ._describe import answer_regex, write_regex
from ._loading import load_models
from ._worker import DEFAULT_QUEUE_LIMIT, ModelWorker, QueueFull

#: Names whose modules import FastAPI or pydantic: imported on first use.
_NEEDS_SERVE = {"create_app": "_app", "MAX_BODY_BYTES": "_app", "ChatMessage": "_chat", "chat_lines": "_chat",
                "ServeLimits": "_limits", "guarded_protocol": "_limits", "loopback_hosts": "_limits"}

__all__ = ["load_models", "DEFAULT_QUEUE_LIMIT", "ModelWorker", "QueueFull", "ServeExtraMissing",
           "require_serve_extra", "answer_regex", "write_regex", *_NEEDS_SERVE]


def __getattr__(name: str) -> Any:
    """``create_app`` and the HTTP types are imported on first use: this package imports without FastAPI (or
    PyTorch)."""
    if name in _NEEDS_SERVE:
        require_serve_extra()
        return getattr(import_module(f"{__name__}.{_NEEDS_SERVE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
