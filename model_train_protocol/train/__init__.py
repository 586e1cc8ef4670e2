"""Train MTP models locally: ``train(protocol, out_dir, TrainConfig(...))`` and ``load_trained(out_dir)``.

Needs the ``train`` extra (``pip install ".[train]"`` in a clone of the repository): PyTorch,
transformers, tokenizers, safetensors, peft, gguf, matplotlib. The core
library never imports this package.
"""

from ..model_dir import TrainedModel, load_trained, verify_dir
from .config import TrainConfig, TrainConfigError
from .data import TrainingData, build_training_data
from .._env import TrainExtraMissing
from .train import TrainResult, train

__all__ = [
    "TrainConfig",
    "TrainConfigError",
    "TrainExtraMissing",
    "TrainResult",
    "TrainedModel",
    "TrainingData",
    "build_training_data",
    "load_trained",
    "train",
    "verify_dir",
]
