"""The processes around a write: whether another one still runs, and this one's garbage collector paused."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from typing import Iterator

def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a temp file or staging folder it owns may still be in use)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or a pid we cannot ask about: keep its file
    return True


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects are made (parsing a model file).

    Every few hundred new containers CPython runs a collection, and the full
    ones rescan the whole growing heap: parsing an 80 MB model file takes
    about three times as long with them (bench/, docs/benchmarks.md). JSON
    documents and protocols hold no reference cycles, so nothing is lost.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
