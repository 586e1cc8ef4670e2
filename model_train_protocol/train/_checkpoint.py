"""Training state for resume, without pickle: tensors in safetensors, the rest in JSON.

``checkpoints/last/`` in the output directory holds the trainable weights
(``model.safetensors``), the best trainable weights so far
(``best.safetensors``), the optimizer's moments (``optimizer.safetensors``),
the tokenizer, and ``state.json`` (step, best validation loss, patience, loss
history, settings). Frozen weights (a LoRA run's base) are not saved: resume
loads them from the base again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MTPError, MTPFileError
from ..jsonio import dumps, max_config_bytes, parse_json, read_limited, write_atomic

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
    """Restore model and optimizer in place; return the saved state and the best weights (if any).

    A damaged checkpoint (edited ``state.json``, a truncated tensor file) is one
    :class:`MTPFileError` saying how to go on, never an internal error.
    """
    try:
        return _load_checkpoint(folder, model, optimizer, device)
    except MTPError:
        raise
    except Exception as exc:  # safetensors, torch and JSON errors of every kind
        detail = (str(exc).splitlines() or [""])[0][:160]
        raise MTPFileError(f"the checkpoint is damaged ({type(exc).__name__}: {detail}); remove it to train from "
                           "the start, or run without --resume.", path=str(folder)) from None


def _load_checkpoint(
    folder: Path, model: "torch.nn.Module", optimizer: "torch.optim.Optimizer", device: str
) -> tuple[dict[str, Any], dict[str, "torch.Tensor"] | None]:
    from safetensors.torch import load_file

    state = _checked_state(parse_json(read_limited(folder / STATE, max_config_bytes()), str(folder / STATE)))
    load_trainable(model, load_file(str(folder / "model.safetensors"), device=device))
    restore_optimizer(optimizer, load_file(str(folder / "optimizer.safetensors"), device=device), state.pop("optimizer"))
    best_file = folder / "best.safetensors"
    best = load_file(str(best_file)) if best_file.is_file() else None
    return state, best


def _checked_state(state: Any) -> dict[str, Any]:
    """``state.json`` with every field resume reads of the type it must have (ValueError naming the first wrong)."""
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    checks = {
        "step": count, "bad_evals": count,
        "best_val": lambda v: v is None or number(v),
        "history": lambda v: isinstance(v, list) and all(isinstance(h, dict) for h in v),
        "train_losses": lambda v: isinstance(v, list) and all(
            isinstance(x, list) and len(x) == 2 and count(x[0]) and number(x[1]) for x in v),
        "optimizer": lambda v: isinstance(v, dict) and isinstance(v.get("param_groups"), list)
        and isinstance(v.get("scalars"), dict),
    }
    if not isinstance(state, dict):
        raise ValueError("state.json is not a JSON object")
    for key, check in checks.items():
        if key not in state or not check(state[key]):
            raise ValueError(f"state.json: {key!r} is missing or of the wrong type")
    return state
