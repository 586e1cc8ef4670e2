"""The ``[train]`` extra check, under the training package's name (the CLI imports it from here).

It lives in :mod:`model_train_protocol.extras`, below training and inference, which both need it.
"""

from ..extras import INSTALL_HINT, TrainExtraMissing, require_train_extra

__all__ = ["TrainExtraMissing", "require_train_extra", "INSTALL_HINT"]
