"""The trained-model directory, as training writes it: see :mod:`model_train_protocol.model_dir`.

The contract (layout, manifest, identity, what loading refuses) lives in one
module that training writes and inference and evaluation read; its names are
re-exported here for the training code and for code written against this path.
"""

from ..model_dir import (
    CHECKPOINTS,
    LOSS_CURVE,
    MANIFEST,
    MANIFEST_FORMAT,
    MODEL_FILE,
    STAGING_PREFIX,
    TEMPLATE_FILE,
    TrainedModel,
    load_trained,
    protocol_sha256,
    sha256_file,
    verify_dir,
    write_manifest,
    write_protocol_files,
    write_staged,
)

__all__ = [
    "MANIFEST",
    "MODEL_FILE",
    "TEMPLATE_FILE",
    "LOSS_CURVE",
    "CHECKPOINTS",
    "MANIFEST_FORMAT",
    "STAGING_PREFIX",
    "TrainedModel",
    "sha256_file",
    "protocol_sha256",
    "write_protocol_files",
    "write_manifest",
    "write_staged",
    "verify_dir",
    "load_trained",
]
