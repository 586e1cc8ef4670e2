"""The ``[serve]`` extra (FastAPI, uvicorn) check, under the server package's name.

It lives in :mod:`model_train_protocol._env`, with the ``[train]`` extra's and every other setting taken from
the environment.
"""

from .._env import SERVE_INSTALL_HINT as INSTALL_HINT
from .._env import ServeExtraMissing, require_serve_extra

__all__ = ["ServeExtraMissing", "require_serve_extra", "INSTALL_HINT"]
