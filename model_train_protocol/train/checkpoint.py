"""Training state for resume, without pickle: tensors in safetensors, the rest in JSON.

``checkpoints/last/`` in the output directory holds the trainable weights
(``model.safetensors``), the best trainable weights so far
(``best.safetensors``), the optimizer's moments (``optimizer.safetensors``),
the tokenizer, and ``state.json`` (step, best validation loss, patience, loss
history, settings). Frozen weights (a LoRA run's base) are not saved: resume
loads them from the base again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..formats.jsonio import dumps, write_atomic

if TYPE_CHECKING:
    import torch

__all__ = [
    "save_checkpoint", "load_checkpoint", "has_checkpoint", "trainable_state", "load_trainable",
    "flatten_optimizer", "restore_optimizer",
]

STATE = "state.json"


def has_checkpoint(folder: Path) -> bool:
    return (folder / STATE).is_file()


def trainable_state(model: "torch.nn.Module") -> dict[str, "torch.Tensor"]:
    """A CPU copy of the parameters that train (tied weights appear once)."""
    return {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters() if p.requires_grad}


def load_trainable(model: "torch.nn.Module", tensors: dict[str, "torch.Tensor"]) -> None:
    """Put saved trainable parameters back; every saved name must exist in the model."""
    unexpected = model.load_state_dict(tensors, strict=False).unexpected_keys
    if unexpected:
        raise ValueError(f"checkpoint holds parameters this model does not have: {unexpected[:3]}")


def flatten_optimizer(optimizer: "torch.optim.Optimizer") -> tuple[dict[str, "torch.Tensor"], dict[str, Any]]:
    """Optimizer state as named tensors plus JSON (param groups and scalar entries such as ``step``)."""
    import torch

    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = float(value.item() if isinstance(value, torch.Tensor) else value)
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: "torch.optim.Optimizer", tensors: dict[str, "torch.Tensor"], meta: dict[str, Any]) -> None:
    """Inverse of :func:`flatten_optimizer`."""
    import torch

    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for pid, entry in meta["scalars"].items():
        for name, value in entry.items():
            state.setdefault(int(pid), {})[name] = torch.tensor(value)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    folder: Path,
    model: "torch.nn.Module",
    best: dict[str, "torch.Tensor"] | None,
    optimizer: "torch.optim.Optimizer",
    tokenizer: Any,
    state: dict[str, Any],
) -> None:
    """Write the checkpoint into a fresh folder, then swap it in, so a crash never leaves half of one."""
    from safetensors.torch import save_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    # A fresh uniquely named folder: a link planted at a fixed name would be written through.
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        save_file(trainable_state(model), str(tmp / "model.safetensors"))
        if best is not None:
            save_file(best, str(tmp / "best.safetensors"))
        tensors, meta = flatten_optimizer(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        tokenizer.save_pretrained(tmp / "tokenizer")
        write_atomic(tmp / STATE, dumps({**state, "optimizer": meta}))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    if folder.exists():
        os.replace(folder, old / folder.name)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(
    folder: Path, model: "torch.nn.Module", optimizer: "torch.optim.Optimizer", device: str
) -> tuple[dict[str, Any], dict[str, "torch.Tensor"] | None]:
    """Restore model and optimizer in place; return the saved state and the best weights (if any)."""
    from safetensors.torch import load_file

    load_trainable(model, load_file(str(folder / "model.safetensors"), device=device))
    state = json.loads((folder / STATE).read_text(encoding="utf-8"))
    restore_optimizer(optimizer, load_file(str(folder / "optimizer.safetensors"), device=device), state.pop("optimizer"))
    best_file = folder / "best.safetensors"
    best = load_file(str(best_file)) if best_file.is_file() else None
    return state, best

