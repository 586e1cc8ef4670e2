"""Byte-stable JSON text and atomic file writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["dumps", "write_atomic"]

# The process umask, read once, so new files get the usual permissions (mkstemp makes them 0600).
_UMASK = os.umask(0)
os.umask(_UMASK)


def dumps(document: Any) -> str:
    """The MTP file text: 4-space indent, literal non-ASCII, no trailing newline.

    Key order is the document's own insertion order: the writers build every
    object in its final order, so the same protocol always gives the same text.
    """
    return json.dumps(document, indent=4, ensure_ascii=False, allow_nan=False)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A crash or an error mid-write leaves the previous file untouched; readers
    never see a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
