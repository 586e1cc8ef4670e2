"""The directory's layout: its file names, and the walk that lists what it holds.

Every other part of the package names a file of a model directory through
these constants, so the layout is written down once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

from ..errors import MTPFileError


MANIFEST = "mtp_manifest.json"
MODEL_FILE = "mtp_model.json"
TEMPLATE_FILE = "mtp_template.json"
LOSS_CURVE = "loss_curve.png"
#: Training state for ``resume``; never read by :func:`load_trained`.
CHECKPOINTS = "checkpoints"
MANIFEST_FORMAT = "mtp-trained-model/1"
#: Files a Hugging Face Hub upload adds beside the model: allowed without a manifest entry, never read.
HUB_FILES = frozenset({"README.md", ".gitattributes"})
#: A folder of Hub download metadata (``huggingface_hub`` ``local_dir`` downloads): tolerated, never read.
_HUB_CACHE = (".cache", "huggingface")
#: Hidden folder a training run writes its files into before moving them in (``.mtp-staging-{pid}-...``).
STAGING_PREFIX = ".mtp-staging-"


def _walk(out_dir: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(POSIX path relative to ``out_dir``, lstat) of every entry below it; links are reported, never followed."""
    pending = [Path()]
    while pending:
        rel_dir = pending.pop()
        try:
            entries = sorted(os.scandir(out_dir / rel_dir), key=lambda e: e.name)
        except OSError as exc:
            raise MTPFileError(f"cannot list the directory: {exc.strerror or exc}", path=str(out_dir / rel_dir)) from None
        for entry in entries:
            rel = rel_dir / entry.name
            info = entry.stat(follow_symlinks=False)
            yield rel.as_posix(), info
            if stat.S_ISDIR(info.st_mode):
                pending.append(rel)


def _listed_files(out_dir: Path) -> list[str]:
    """Every file of the directory except the manifest and the checkpoints folder, as sorted POSIX paths."""
    return sorted(rel for rel, info in _walk(out_dir)
                  if stat.S_ISREG(info.st_mode) and rel != MANIFEST and rel.split("/", 1)[0] != CHECKPOINTS)
