"""What names a model: file checksums and the protocol's hash.

``manifest["mtp"]["protocol_sha256"]`` is :func:`protocol_sha256`, what
evaluation compares a model file against; the manifest lists every file with
:func:`sha256_file`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..jsonio import dumps

if TYPE_CHECKING:
    from ..authoring import Protocol


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def protocol_sha256(protocol: "Protocol") -> str:
    """sha256 of the protocol's model-file text: the identity of what the model was trained on."""
    return hashlib.sha256(dumps(protocol.to_json()).encode("utf-8")).hexdigest()
