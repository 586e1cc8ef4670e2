"""The trained-model directory: write it, verify it, load it back.

Layout (all files listed with their sha256 in ``mtp_manifest.json``)::

    config.json, generation_config.json, model.safetensors   the Hugging Face model
    tokenizer.json, tokenizer_config.json                    its tokenizer
    mtp_model.json, mtp_template.json                        the protocol and its line format
    loss_curve.png                                           training and validation loss
    mtp_manifest.json                                        ids, checksums, settings, metrics

Loading never unpickles: weights are read with safetensors only, and a file
that the manifest does not list (or whose checksum differs) stops the load.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MTPFileError
from ..formats.jsonio import dumps, write_atomic
from .extra import require_train_extra

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from ..protocol import Protocol

__all__ = [
    "MANIFEST",
    "MODEL_FILE",
    "TEMPLATE_FILE",
    "LOSS_CURVE",
    "CHECKPOINTS",
    "MANIFEST_FORMAT",
    "TrainedModel",
    "sha256_file",
    "protocol_sha256",
    "write_protocol_files",
    "write_manifest",
    "verify_dir",
    "load_trained",
]

MANIFEST = "mtp_manifest.json"
MODEL_FILE = "mtp_model.json"
TEMPLATE_FILE = "mtp_template.json"
LOSS_CURVE = "loss_curve.png"
#: Training state for ``resume``; never read by :func:`load_trained`.
CHECKPOINTS = "checkpoints"
MANIFEST_FORMAT = "mtp-trained-model/1"

#: Suffixes of formats that can run code when loaded (pickle and friends): refused anywhere in the directory.
_UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")


@dataclass(frozen=True)
class TrainedModel:
    """A loaded model directory.

    ``model`` is a ``transformers`` causal LM in eval mode, ``tokenizer`` its
    tokenizer (encode rendered text with ``add_special_tokens=False``: the text
    already holds ``<BOS>``), ``template`` the parsed ``mtp_template.json``,
    ``model_file`` the parsed ``mtp_model.json`` (load it with
    ``Protocol.from_json`` for the full object model), ``manifest`` the parsed
    ``mtp_manifest.json`` and ``path`` the directory.
    """

    model: "PreTrainedModel"
    tokenizer: "PreTrainedTokenizerBase"
    template: dict[str, Any]
    manifest: dict[str, Any]
    model_file: dict[str, Any]
    path: Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def protocol_sha256(protocol: "Protocol") -> str:
    """sha256 of the protocol's model-file text: the identity of what the model was trained on."""
    return hashlib.sha256(dumps(protocol.to_json()).encode("utf-8")).hexdigest()


def write_protocol_files(out_dir: Path, protocol: "Protocol") -> None:
    """``mtp_model.json`` and ``mtp_template.json`` through the library's own writers."""
    write_atomic(out_dir / MODEL_FILE, dumps(protocol.to_json()))
    write_atomic(out_dir / TEMPLATE_FILE, dumps(protocol.template_json()))


def _listed_files(out_dir: Path) -> list[str]:
    """Every file of the directory except the manifest and the checkpoints folder, as sorted POSIX paths."""
    found = []
    for root, dirs, files in os.walk(out_dir):
        rel_root = Path(root).relative_to(out_dir)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d != CHECKPOINTS]
        for name in files:
            rel = (rel_root / name).as_posix()
            if rel != MANIFEST:
                found.append(rel)
    return sorted(found)


def write_manifest(
    out_dir: Path,
    protocol: "Protocol",
    settings: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``mtp_manifest.json`` (reference model-manifest 1.0.0 fields plus an ``mtp`` section); return it."""
    import torch
    import transformers

    digest = protocol_sha256(protocol)
    files = [{"path": rel, "checksum": "sha256:" + sha256_file(out_dir / rel)} for rel in _listed_files(out_dir)]
    manifest: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": protocol.name,
        "description": f"MTP model trained locally from protocol {protocol.name!r} (base: {settings.get('base')}).",
        "created_time": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "files": files,
        "training": {"reference": "sha256:" + digest},
        "labels": {"base": str(settings.get("base")), "lora": str(bool(settings.get("lora"))).lower()},
        "mtp": {
            "format": MANIFEST_FORMAT,
            "protocol_sha256": digest,
            "settings": settings,
            "metrics": metrics,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
            **(extra or {}),
        },
    }
    write_atomic(out_dir / MANIFEST, dumps(manifest))
    return manifest


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MTPFileError(f"{what} is missing; is this a directory written by `mtp train`?", path=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MTPFileError(f"{what} is not readable JSON ({exc}).", path=str(path)) from None
    if not isinstance(data, dict):
        raise MTPFileError(f"{what} must hold a JSON object.", path=str(path))
    return data


def verify_dir(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a trained-model directory against its manifest; return the manifest.

    Refuses: a missing or malformed manifest, a listed file that is missing or
    whose sha256 differs, any file the manifest does not list, and pickle-like
    files (``*.bin``, ``*.pt``, ``*.pkl``, ...) anywhere, checkpoints included.
    """
    out_dir = Path(path)
    if not out_dir.is_dir():
        raise MTPFileError("not a directory; pass the --out directory of `mtp train`.", path=str(out_dir))
    manifest = _read_json(out_dir / MANIFEST, MANIFEST)
    entries = manifest.get("files")
    if not isinstance(entries, list) or not entries:
        raise MTPFileError("the manifest lists no files.", path=str(out_dir / MANIFEST), pointer="/files")
    for root, _dirs, files in os.walk(out_dir):
        for name in files:
            if name.lower().endswith(_UNSAFE_SUFFIXES):
                bad = Path(root, name).relative_to(out_dir).as_posix()
                raise MTPFileError(
                    f"refusing to load {bad!r}: pickle-based weight files can run code; only safetensors is loaded.",
                    path=str(out_dir),
                )
    listed: dict[str, str] = {}
    for i, entry in enumerate(entries):
        rel = entry.get("path") if isinstance(entry, dict) else None
        checksum = entry.get("checksum") if isinstance(entry, dict) else None
        if not isinstance(rel, str) or not isinstance(checksum, str) or not checksum.startswith("sha256:"):
            raise MTPFileError("a file entry needs a path and a 'sha256:...' checksum.",
                               path=str(out_dir / MANIFEST), pointer=f"/files/{i}")
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise MTPFileError(f"file path {rel!r} leaves the model directory.",
                               path=str(out_dir / MANIFEST), pointer=f"/files/{i}")
        listed[rel] = checksum[len("sha256:"):]
    for rel in _listed_files(out_dir):
        if rel not in listed:
            raise MTPFileError(
                f"unexpected file {rel!r} is not listed in the manifest; remove it or retrain.", path=str(out_dir)
            )
    for rel, digest in listed.items():
        file = out_dir / rel
        if not file.is_file():
            raise MTPFileError(f"file {rel!r} listed in the manifest is missing.", path=str(out_dir))
        if sha256_file(file) != digest:
            raise MTPFileError(f"file {rel!r} does not match its checksum in the manifest (modified or corrupt).", path=str(out_dir))
    for required in (MODEL_FILE, TEMPLATE_FILE, "config.json", "model.safetensors"):
        if required not in listed:
            raise MTPFileError(f"the manifest does not list {required!r}; this is not a complete trained model.", path=str(out_dir))
    return manifest


def load_trained(path: str | os.PathLike[str], device: str | None = None) -> TrainedModel:
    """Load a directory written by :func:`model_train_protocol.train.train` (or ``mtp train``).

    Stable signature for inference code: ``load_trained(path, device=None) ->
    TrainedModel(model, tokenizer, template, manifest, model_file, path)``.
    Every file is checked against the manifest first (:func:`verify_dir`);
    weights load from safetensors only, offline. ``device`` is ``"cpu"``,
    ``"cuda"`` or None (CUDA when available, else CPU). The model is in eval
    mode; it generates until ``<EOS>`` (``generation_config.eos_token_id``).

    Raises ``MTPFileError`` for a missing, incomplete, modified or unsafe directory.
    """
    out_dir = Path(path)
    manifest = verify_dir(out_dir)
    require_train_extra()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(out_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(out_dir, local_files_only=True, use_safetensors=True)
    model.to(device)
    model.eval()
    return TrainedModel(
        model=model,
        tokenizer=tokenizer,
        template=_read_json(out_dir / TEMPLATE_FILE, TEMPLATE_FILE),
        manifest=manifest,
        model_file=_read_json(out_dir / MODEL_FILE, MODEL_FILE),
        path=out_dir,
    )
