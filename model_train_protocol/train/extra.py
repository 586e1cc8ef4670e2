"""The ``[train]`` extra check, under the training package's name (the CLI imports it from here).

It lives in :mod:`model_train_protocol._env`, below training and inference, which both need it.
"""

from .._env import TRAIN_INSTALL_HINT as INSTALL_HINT
from .._env import TrainExtraMissing, require_train_extra

__all__ = ["TrainExtraMissing", "require_train_extra", "INSTALL_HINT"]
