"""The security checks of a model directory: what :func:`verify_dir` and :func:`check_base_dir` refuse.

A directory is a set of files an attacker may have written, and its manifest
a checksum list anyone can recompute; these checks refuse, whatever the
manifest says, links and special files, code and pickles, configs that make
transformers import code, and safetensors headers that do not describe their
file (the package docstring lists them all).
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import Any

from ..errors import MTPFileError
from ..jsonio import max_config_bytes, parse_json, read_limited
from ._identity import sha256_file
from ._layout import _HUB_CACHE, CHECKPOINTS, HUB_FILES, MANIFEST, MODEL_FILE, STAGING_PREFIX, TEMPLATE_FILE, _walk


#: Suffixes of formats that can run code when loaded (pickle and friends): refused anywhere in the directory.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5", ".msgpack")
#: Suffixes of code: transformers imports ``*.py`` files named by ``auto_map``; none is ever needed here.
_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib")
#: Config keys that make transformers import code or extra back ends.
_CODE_KEYS = ("auto_map", "custom_pipelines")
#: Configs read by transformers when it loads a model or tokenizer.
_HF_CONFIGS = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
               "preprocessor_config.json", "processor_config.json")
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from a model-directory file: size-capped, links refused, every error an MTPFileError."""
    if not path.exists() and not path.is_symlink():
        raise MTPFileError(f"{what} is missing; is this a directory written by `mtp train`?", path=str(path))
    data = parse_json(read_limited(path, max_config_bytes(), follow_symlinks=False), str(path))
    if not isinstance(data, dict):
        raise MTPFileError(f"{what} must hold a JSON object.", path=str(path))
    return data


def check_tree(path: "str | os.PathLike[str]") -> list[str]:
    """Refuse links, special files, code and pickles anywhere below ``path``; return its regular files.

    The first check of every load, with or without a manifest.
    """
    out_dir = Path(path)
    if not out_dir.is_dir():
        raise MTPFileError("not a directory; pass the --out directory of `mtp train`.", path=str(out_dir))
    files = []
    for rel, info in _walk(out_dir):
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            raise MTPFileError(f"{rel!r} is a symbolic link; links are refused in a model directory (copy the "
                               "file in instead).", path=str(out_dir))
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            raise MTPFileError(f"{rel!r} is not a regular file (a FIFO, socket or device); remove it.",
                               path=str(out_dir))
        lower = rel.lower()
        if lower.endswith(_CODE_SUFFIXES):
            raise MTPFileError(f"refusing to load a directory holding code ({rel!r}): a model directory never "
                               "needs code, and transformers could run it; remove it.", path=str(out_dir))
        if lower.endswith(_PICKLE_SUFFIXES):
            raise MTPFileError(f"refusing to load {rel!r}: pickle-based weight files can run code; only "
                               "safetensors is loaded.", path=str(out_dir))
        files.append(rel)
    return files


def _tolerated(rel: str) -> bool:
    """Unlisted files that are allowed because nothing reads them: the Hub's own files and its cache folder."""
    parts = tuple(rel.split("/"))
    return (rel in HUB_FILES or parts[:2] == _HUB_CACHE or parts[0] == CHECKPOINTS
            or (len(parts) > 1 and parts[0].startswith(STAGING_PREFIX)))


def verify_dir(path: "str | os.PathLike[str]") -> dict[str, Any]:
    """Check a trained-model directory against its manifest and the code-execution refusals; return the manifest.

    Refuses (:class:`MTPFileError`): a missing or malformed manifest, a listed
    file that is missing or whose sha256 differs, any file the manifest does
    not list (the Hub's ``README.md``/``.gitattributes`` aside), and everything
    the module docstring lists (links, code, pickles, configs that load code).
    """
    out_dir = Path(path)
    present = check_tree(out_dir)
    manifest_path = out_dir / MANIFEST
    manifest = _read_json(manifest_path, MANIFEST)
    entries = manifest.get("files")
    if not isinstance(entries, list) or not entries:
        raise MTPFileError("the manifest lists no files.", path=str(manifest_path), pointer="/files")
    listed: dict[str, str] = {}
    for i, entry in enumerate(entries):
        rel = entry.get("path") if isinstance(entry, dict) else None
        checksum = entry.get("checksum") if isinstance(entry, dict) else None
        if not isinstance(rel, str) or not isinstance(checksum, str) or not checksum.startswith("sha256:"):
            raise MTPFileError("a file entry needs a path and a 'sha256:...' checksum.",
                               path=str(manifest_path), pointer=f"/files/{i}")
        parts = rel.split("/")
        if (not rel or rel.startswith("/") or "\\" in rel or "\0" in rel or any(p in ("", ".", "..") for p in parts)
                or Path(rel).is_absolute()):
            raise MTPFileError(f"file path {rel[:80]!r} leaves the model directory.",
                               path=str(manifest_path), pointer=f"/files/{i}")
        if parts[0] == CHECKPOINTS or rel == MANIFEST:
            raise MTPFileError(f"file path {rel[:80]!r} cannot be a model file.", path=str(manifest_path),
                               pointer=f"/files/{i}")
        listed[rel] = checksum[len("sha256:"):]
    for rel in present:
        if rel != MANIFEST and rel not in listed and not _tolerated(rel):
            raise MTPFileError(
                f"unexpected file {rel!r} is not listed in the manifest; remove it or retrain.", path=str(out_dir)
            )
    present_set = set(present)
    for rel, digest in listed.items():
        if rel not in present_set:
            raise MTPFileError(f"file {rel!r} listed in the manifest is missing.", path=str(out_dir))
        if sha256_file(out_dir / rel) != digest:
            raise MTPFileError(f"file {rel!r} does not match its checksum in the manifest (modified or corrupt).",
                               path=str(out_dir))
    for required in (MODEL_FILE, TEMPLATE_FILE, "config.json", "model.safetensors"):
        if required not in listed:
            raise MTPFileError(f"the manifest does not list {required!r}; this is not a complete trained model.",
                               path=str(out_dir))
    _check_configs(out_dir, present)
    _check_mtp_section(manifest, manifest_path)
    return manifest


#: Fields of the manifest's ``mtp`` section that inference and evaluation read, with the types they need.
_MTP_FIELDS = {"protocol_sha256": str, "settings": dict, "metrics": dict}
_SETTINGS_FIELDS = {"val_split": (int, float), "seed": int, "guardrails": bool, "base": str}


def _check_mtp_section(manifest: dict[str, Any], path: Path) -> None:
    """The ``mtp`` section holds what evaluation reads (the split settings): each with its type, when present."""
    section = manifest.get("mtp", {})
    if not isinstance(section, dict):
        raise MTPFileError("'mtp' must be an object.", path=str(path), pointer="/mtp")
    for key, kind in _MTP_FIELDS.items():
        if key in section and not isinstance(section[key], kind):
            raise MTPFileError(f"'{key}' must be {kind.__name__}.", path=str(path), pointer=f"/mtp/{key}")
    settings = section.get("settings", {})
    for key, kinds in _SETTINGS_FIELDS.items():
        value = settings.get(key)
        if value is None:
            continue
        if (isinstance(value, bool) and kinds is not bool) or not isinstance(value, kinds):
            raise MTPFileError(f"'{key}' has the wrong type.", path=str(path), pointer=f"/mtp/settings/{key}")
    split = settings.get("val_split")
    if split is not None and not 0 <= split < 1:
        raise MTPFileError("'val_split' must be at least 0 and below 1.", path=str(path),
                           pointer="/mtp/settings/val_split")
    seed = settings.get("seed")
    if seed is not None and not 0 <= seed < 2**63:
        raise MTPFileError("'seed' is out of range.", path=str(path), pointer="/mtp/settings/seed")


def _check_configs(out_dir: Path, present: list[str]) -> None:
    """Refuse configs that would make transformers import code, and weights whose header is not sound."""
    if "config.json" not in present:
        raise MTPFileError("config.json is missing; this is not a Hugging Face model directory.", path=str(out_dir))
    if not any(rel.endswith(".safetensors") and "/" not in rel for rel in present):
        raise MTPFileError("no *.safetensors weights; only safetensors weights are loaded.", path=str(out_dir))
    # at any depth (the intent head's encoder a user brought is a model folder of its own, intent/encoder/), but
    # not in what nothing reads (a killed run's staging folder, the Hub's cache)
    present = [rel for rel in present if "/" not in rel or not _tolerated(rel)]
    configs: dict[str, dict[str, Any]] = {}  # each read once: the model_type check below reuses it
    for name in (rel for rel in present if rel.rsplit("/", 1)[-1] in _HF_CONFIGS):
        config = configs[name] = _read_json(out_dir / name, name)
        for key in _CODE_KEYS:
            if key in config:
                raise MTPFileError(f"{key!r} asks transformers to import custom code; refusing to load it.",
                                   path=str(out_dir / name), pointer=f"/{key}")
        if "quantization_config" in config:
            raise MTPFileError("'quantization_config' makes transformers import quantization back ends; MTP models "
                               "are saved unquantized, refusing to load it.", path=str(out_dir / name),
                               pointer="/quantization_config")
    for rel in present:
        if rel.rsplit("/", 1)[-1] == "config.json":
            _check_model_type(out_dir / rel, configs[rel])
        if rel.endswith(".safetensors"):
            _check_safetensors(out_dir / rel)


def _check_model_type(path: Path, config: dict[str, Any]) -> None:
    model_type = config.get("model_type")
    try:
        from transformers import CONFIG_MAPPING
    except ImportError:  # pragma: no cover - loading needs transformers anyway; require_train_extra says so
        return
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise MTPFileError(f"model_type {str(model_type)[:80]!r} is not a model type transformers ships; custom "
                           "architectures need code, which is never loaded.", path=str(path), pointer="/model_type")


def _check_safetensors(path: Path) -> None:
    """The header of a safetensors file: its length, JSON object, dtypes and offsets, all within the file."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise MTPFileError("is not a safetensors file (shorter than its header).", path=str(path))
        (length,) = struct.unpack("<Q", head)
        if length > min(_MAX_SAFETENSORS_HEADER, size - 8):
            raise MTPFileError("is not a sound safetensors file (header length past the end).", path=str(path))
        header = handle.read(length)
    try:
        document = parse_json(header, str(path))
    except MTPFileError:
        raise MTPFileError("is not a sound safetensors file (unreadable header).", path=str(path)) from None
    if not isinstance(document, dict):
        raise MTPFileError("is not a sound safetensors file (header is not an object).", path=str(path))
    room = size - 8 - length
    for name, entry in document.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= room
                or not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or not isinstance(entry.get("dtype"), str)):
            raise MTPFileError(f"is not a sound safetensors file (tensor {name[:80]!r} is malformed).", path=str(path))


def check_base_dir(folder: Path) -> None:
    """The refusals of :func:`verify_dir` without a manifest: for a directory trained elsewhere, or a base model."""
    present = check_tree(folder)
    _check_configs(folder, present)
