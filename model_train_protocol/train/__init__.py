"""Train MTP models locally: ``train(protocol, out_dir, TrainConfig(...))`` and ``load_trained(out_dir)``.

Needs the ``train`` extra (``pip install ".[train]"`` in a clone of the repository): PyTorch,
transformers, tokenizers, safetensors, peft, gguf, matplotlib. The core
library never imports this package. One job per private module: ``_config`` and ``_config_file`` (the settings,
declared once), ``_data``, ``_tokenizer`` and ``_batching`` (the training text as token ids), ``_model`` (the base
model), ``_loss``, ``_checkpoint``, ``_distributed``, ``_environment`` (devices and precision), ``_intent`` (the
intent head), ``_refusal`` and ``_check`` (calibration on the validation split), ``_augment`` (``mtp augment``),
``_plot`` and ``_train`` (the loop). Import from here, never from them.
"""

from .._env import TrainExtraMissing
from ..model_dir import TrainedModel, load_trained, verify_dir
from ._augment import AUGMENT_MODEL, CANDIDATES, augment_protocol
from ._batching import IGNORE, Encoded, collate, encode_all, encode_example, step_batch, steps_per_epoch
from ._check import check_answers
from ._config import PRETRAINED_RECIPE, SCRATCH_RECIPE, TrainConfig, TrainConfigError, option_name, settings
from ._config_file import CONFIG_FILE, EXTRA_KEYS, config_values, dump_config, read_config_file
from ._data import TrainingData, build_training_data
from ._environment import environment_report, has_bf16
from ._intent import IntentRecipe, fit_intent
from ._model import (SMOLLM2_GGUF, BaseModelError, add_token_rows, load_base, scratch_model, set_special_ids,
                     smollm2_dir)
from ._tokenizer import extend_tokenizer, scratch_tokenizer
from ._train import MIN_CALIBRATION_PROMPTS, TrainResult, train

__all__ = [
    "TrainConfig", "TrainConfigError", "TrainExtraMissing", "TrainResult", "TrainedModel", "TrainingData",
    "build_training_data", "load_trained", "train", "verify_dir", "MIN_CALIBRATION_PROMPTS",
    "AUGMENT_MODEL", "CANDIDATES", "augment_protocol",
    "IGNORE", "Encoded", "collate", "encode_all", "encode_example", "step_batch", "steps_per_epoch",
    "check_answers",
    "PRETRAINED_RECIPE", "SCRATCH_RECIPE", "option_name", "settings",
    "CONFIG_FILE", "EXTRA_KEYS", "config_values", "dump_config", "read_config_file",
    "environment_report", "has_bf16",
    "IntentRecipe", "fit_intent",
    "SMOLLM2_GGUF", "BaseModelError", "add_token_rows", "load_base", "scratch_model", "set_special_ids", "smollm2_dir",
    "extend_tokenizer", "scratch_tokenizer",
]
