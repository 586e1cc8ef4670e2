"""The ``mtp`` command line.

Each command lives in its own module, which registers itself on :data:`app`
when imported below. Errors print one line on stderr and exit non-zero.
"""

from __future__ import annotations

from ._app import app, main

# Each command module registers its command on ``app`` when imported.
from . import (_augment, _chat, _convert, _demo, _env, _eval, _export, _export_model, _import_csv, _info,  # noqa: F401
               _run, _serve, _template, _train, _upgrade, _validate)
from ._serve import allowed_hosts, is_loopback

__all__ = ["app", "main", "allowed_hosts", "is_loopback"]
