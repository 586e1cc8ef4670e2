"""The ``mtp`` command line.

Each command lives in its own module, which registers itself on :data:`app`
when imported below. Errors print one line on stderr and exit non-zero.
"""

from __future__ import annotations

from ._app import app, main

# Command modules register themselves on ``app`` when imported.
from . import demo  # noqa: F401,E402
from . import validate, info, template, convert, export, import_csv  # noqa: F401,E402
from . import train  # noqa: F401,E402
from . import run, chat, eval  # noqa: F401,E402
from . import export_model, upgrade  # noqa: F401,E402
from . import augment  # noqa: F401,E402
from . import env  # noqa: F401,E402
from . import serve  # noqa: F401,E402

__all__ = ["app", "main"]
