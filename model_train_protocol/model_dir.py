"""The trained-model directory: the one contract `mtp train` writes and inference and evaluation read.

Layout (all files listed with their sha256 in ``mtp_manifest.json``)::

    config.json, generation_config.json, model.safetensors   the Hugging Face model
    tokenizer.json, tokenizer_config.json                    its tokenizer
    mtp_model.json, mtp_template.json                        the protocol and its line format
    runtime.json                                             what inference reads (the compiled runtime spec)
    loss_curve.png                                           training and validation loss
    mtp_manifest.json                                        ids, checksums, settings, metrics

Identity: ``manifest["mtp"]["protocol_sha256"]`` is the sha256 of the
protocol's model-file text (:func:`protocol_sha256`), what evaluation compares
a model file against; ``manifest["id"]`` names one training run.

Nothing in a model directory can run code. A directory is a set of files an
attacker may have written (a download, a shared folder), and the manifest is a
checksum list, not a signature: whoever changes a file can recompute it. So
besides the checksums, :func:`verify_dir` refuses, whatever the manifest says:

- symbolic links, FIFOs and devices anywhere in the directory;
- Python code (``*.py`` and compiled modules) and pickle-based files
  (``*.bin``, ``*.pt``, ``*.pkl``, ...) anywhere, checkpoints included;
- JSON configs with an ``auto_map`` or ``custom_pipelines`` (custom code), a
  ``quantization_config`` (it imports quantization back ends) or a
  ``model_type`` transformers does not know;
- a ``model.safetensors`` whose header does not describe the file;
- files the manifest does not list, except the Hub's own ``README.md`` and
  ``.gitattributes`` (and ``.cache/huggingface/`` download metadata), which
  nothing here reads.

Loading then passes ``trust_remote_code=False`` and ``use_safetensors=True`` to
transformers and never reaches the network. Any error a tampered directory
still provokes in transformers, tokenizers or safetensors becomes an
:class:`MTPFileError` naming the file. A directory trained elsewhere (no
manifest) loads with a template file given explicitly, under the same
refusals.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import stat
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from .errors import MTPError, MTPFileError
from .formats.jsonio import dumps, process_alive, usual_file_mode, write_atomic
from .formats.limits import max_config_bytes, read_limited
from .formats.strict_json import parse_json
from .runtime import RUNTIME_FILE, RuntimeSpec

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from .protocol import Protocol

T = TypeVar("T")

__all__ = [
    "MANIFEST",
    "MODEL_FILE",
    "TEMPLATE_FILE",
    "RUNTIME_FILE",
    "LOSS_CURVE",
    "CHECKPOINTS",
    "MANIFEST_FORMAT",
    "HUB_FILES",
    "STAGING_PREFIX",
    "TrainedModel",
    "sha256_file",
    "encode_text",
    "tokenizer_call",
    "native_panic",
    "protocol_sha256",
    "write_protocol_files",
    "write_manifest",
    "write_staged",
    "check_tree",
    "check_base_dir",
    "verify_dir",
    "load_pretrained",
    "encode_text",
    "load_trained",
    "upgrade_dir",
    "read_runtime",
    "stored_protocol",
]

MANIFEST = "mtp_manifest.json"
MODEL_FILE = "mtp_model.json"
TEMPLATE_FILE = "mtp_template.json"
LOSS_CURVE = "loss_curve.png"
#: Training state for ``resume``; never read by :func:`load_trained`.
CHECKPOINTS = "checkpoints"
MANIFEST_FORMAT = "mtp-trained-model/1"
#: Files a Hugging Face Hub upload adds beside the model: allowed without a manifest entry, never read.
HUB_FILES = frozenset({"README.md", ".gitattributes"})
#: A folder of Hub download metadata (``huggingface_hub`` ``local_dir`` downloads): tolerated, never read.
_HUB_CACHE = (".cache", "huggingface")

#: Suffixes of formats that can run code when loaded (pickle and friends): refused anywhere in the directory.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5", ".msgpack")
#: Suffixes of code: transformers imports ``*.py`` files named by ``auto_map``; none is ever needed here.
_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib")
#: Config keys that make transformers import code or extra back ends.
_CODE_KEYS = ("auto_map", "custom_pipelines")
#: Configs read by transformers when it loads a model or tokenizer.
_HF_CONFIGS = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
               "preprocessor_config.json", "processor_config.json")
#: The tokenizer class written into ``tokenizer_config.json``: read by transformers 4.x and 5.x alike.
TOKENIZER_CLASS = "PreTrainedTokenizerFast"
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
#: Hidden folder a training run writes its files into before moving them in (``.mtp-staging-{pid}-...``).
STAGING_PREFIX = ".mtp-staging-"


@dataclass(frozen=True)
class TrainedModel:
    """A loaded model directory.

    ``model`` is a ``transformers`` causal LM in eval mode, ``tokenizer`` its
    tokenizer (encode rendered text with ``add_special_tokens=False``: the text
    already holds ``<BOS>``), ``template`` the parsed ``mtp_template.json``,
    ``model_file`` the parsed ``mtp_model.json`` (load it with
    ``Protocol.from_json`` for the full object model; empty for a directory
    trained elsewhere), ``manifest`` the parsed ``mtp_manifest.json`` (empty
    without one), ``path`` the directory and ``runtime`` the compiled runtime
    spec (``runtime.json``; compiled from the template alone for a directory
    trained elsewhere): all inference reads.
    """

    model: "PreTrainedModel"
    tokenizer: "PreTrainedTokenizerBase"
    template: dict[str, Any]
    manifest: dict[str, Any]
    model_file: dict[str, Any]
    path: Path
    runtime: RuntimeSpec | None = None


def native_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic raised through pyo3 (tokenizers, safetensors): a ``BaseException``, so
    ``except Exception`` misses it. A tampered ``tokenizer.json`` (a backtracking ``Split`` regex) raises one."""
    return type(exc).__name__ == "PanicException"


def tokenizer_call(what: str, call: Callable[[], T]) -> T:
    """``call()`` on a tokenizer, its Rust panic turned into an :class:`MTPFileError` saying ``what`` failed."""
    try:
        return call()
    except BaseException as exc:
        if not native_panic(exc):
            raise
        detail = (str(exc).splitlines() or [""])[0][:200]
        raise MTPFileError(f"the tokenizer failed while {what} (tokenizers panicked: {detail}); tokenizer.json is "
                           "broken or was tampered with: train the model again or restore the file.") from None


def encode_text(tokenizer: "PreTrainedTokenizerBase", text: str) -> list[int]:
    """Token ids of rendered ``text`` exactly as written, no special token added (the text already holds
    ``<BOS>``): the one encoding that training learns from and inference prompts and drafts with."""
    return tokenizer_call(f"encoding a text of {len(text)} characters",
                          lambda: list(tokenizer(text, add_special_tokens=False)["input_ids"]))


# --- identity ------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def protocol_sha256(protocol: "Protocol") -> str:
    """sha256 of the protocol's model-file text: the identity of what the model was trained on."""
    return hashlib.sha256(dumps(protocol.to_json()).encode("utf-8")).hexdigest()


# --- writing -------------------------------------------------------------------
def write_protocol_files(out_dir: Path, protocol: "Protocol", refusal: dict[str, Any] | None = None,
                         intent: dict[str, Any] | None = None) -> None:
    """``mtp_model.json`` and ``mtp_template.json`` through the library's own writers, and ``runtime.json``
    compiled from them with training's ``refusal`` and ``intent`` sections (what the manifest's ``mtp`` holds).

    The spec is compiled from the protocol as the model file stores it (read back), exactly as
    :func:`upgrade_dir` compiles it: both give the same bytes.
    """
    from .compiler import compile_runtime, write_runtime
    from .protocol import Protocol

    template = protocol.template_json()
    stored = protocol.to_json()
    write_atomic(out_dir / MODEL_FILE, dumps(stored))
    write_atomic(out_dir / TEMPLATE_FILE, dumps(template))
    spec = compile_runtime(template, Protocol.from_json(stored), refusal, intent, str(out_dir))
    write_runtime(out_dir, spec)


def _walk(out_dir: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(POSIX path relative to ``out_dir``, lstat) of every entry below it; links are reported, never followed."""
    pending = [Path()]
    while pending:
        rel_dir = pending.pop()
        try:
            entries = sorted(os.scandir(out_dir / rel_dir), key=lambda e: e.name)
        except OSError as exc:
            raise MTPFileError(f"cannot list the directory: {exc.strerror or exc}", path=str(out_dir / rel_dir)) from None
        for entry in entries:
            rel = rel_dir / entry.name
            info = entry.stat(follow_symlinks=False)
            yield rel.as_posix(), info
            if stat.S_ISDIR(info.st_mode):
                pending.append(rel)


def _listed_files(out_dir: Path) -> list[str]:
    """Every file of the directory except the manifest and the checkpoints folder, as sorted POSIX paths."""
    return sorted(rel for rel, info in _walk(out_dir)
                  if stat.S_ISREG(info.st_mode) and rel != MANIFEST and rel.split("/", 1)[0] != CHECKPOINTS)


def _readable_by_everyone(out_dir: Path) -> None:
    """Give every file the usual permissions (some writers, e.g. safetensors, create them 0600)."""
    mode = usual_file_mode(out_dir)
    for rel in _listed_files(out_dir):
        os.chmod(out_dir / rel, mode)


def _portable_tokenizer_config(out_dir: Path) -> None:
    """A tokenizer config that transformers 4.x reads as 5.x does.

    5.x writes ``tokenizer_class: TokenizersBackend`` (unknown to 4.x) and the
    extra special tokens as a list under ``extra_special_tokens`` (a dict in
    4.x, which then fails to load). Both versions read
    ``PreTrainedTokenizerFast`` and the list under ``additional_special_tokens``
    the same way: same ids, same special tokens (checked with 4.57 and 5.24).
    """
    path = out_dir / "tokenizer_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        return
    changed = dict(config, tokenizer_class=TOKENIZER_CLASS)
    extra = changed.get("extra_special_tokens")
    if isinstance(extra, list):
        del changed["extra_special_tokens"]
        known = list(changed.get("additional_special_tokens") or [])
        changed["additional_special_tokens"] = known + [t for t in extra if t not in known]
    if changed != config:
        write_atomic(path, json.dumps(changed, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def write_manifest(
    out_dir: Path,
    protocol: "Protocol",
    settings: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``mtp_manifest.json`` (reference model-manifest 1.0.0 fields plus an ``mtp`` section); return it.

    Call it last: it first makes the tokenizer config portable and every file
    readable (0644 under the usual umask), then lists the checksums.
    """
    import torch
    import transformers

    _portable_tokenizer_config(out_dir)
    _readable_by_everyone(out_dir)
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


def write_staged(out_dir: Path, fill: Callable[[Path], dict[str, Any]], before_move: Callable[[], None]) -> dict[str, Any]:
    """Write a model directory whole or not at all; return what ``fill`` returns (the manifest).

    ``fill(staging)`` writes every file, the manifest last, into a hidden
    folder inside ``out_dir``; the result is checked with :func:`verify_dir`,
    ``before_move()`` clears an earlier run's files, and the files are renamed
    into place with the manifest last. A failure while writing (a full disk)
    removes the staging folder and leaves ``out_dir`` as it was.
    """
    import shutil
    import tempfile

    for old in out_dir.glob(STAGING_PREFIX + "*"):  # left by a killed run: its process is gone
        pid = old.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir))
    try:
        try:
            manifest = fill(staging)
        except OSError as exc:
            raise MTPFileError(f"could not write the trained model ({exc.strerror or exc}); nothing was changed in "
                               "the directory. Free some space and run again (add --resume with checkpoints).",
                               path=str(out_dir)) from None
        verify_dir(staging)
        before_move()
        names = sorted(p.name for p in staging.iterdir())
        for name in [n for n in names if n != MANIFEST] + [MANIFEST]:
            os.replace(staging / name, out_dir / name)
        staging.rmdir()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


# --- checking --------------------------------------------------------------------
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
    for name in _HF_CONFIGS:
        if name not in present:
            continue
        config = _read_json(out_dir / name, name)
        for key in _CODE_KEYS:
            if key in config:
                raise MTPFileError(f"{key!r} asks transformers to import custom code; refusing to load it.",
                                   path=str(out_dir / name), pointer=f"/{key}")
        if "quantization_config" in config:
            raise MTPFileError("'quantization_config' makes transformers import quantization back ends; MTP models "
                               "are saved unquantized, refusing to load it.", path=str(out_dir / name),
                               pointer="/quantization_config")
    _check_model_type(out_dir / "config.json", _read_json(out_dir / "config.json", "config.json"))
    for rel in present:
        if rel.endswith(".safetensors") and "/" not in rel:
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


# --- loading ---------------------------------------------------------------------
def _guarded(path: Path, what: str, load: Callable[[], Any]) -> Any:
    """Run a transformers/tokenizers/safetensors load; any error it raises becomes an MTPFileError naming ``what``."""
    try:
        return load()
    except MTPError:
        raise
    except BaseException as exc:  # tampered files reach the libraries' own errors of every kind (RecursionError too)
        if not isinstance(exc, Exception) and not native_panic(exc):
            raise
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise MTPFileError(f"cannot load {what} ({type(exc).__name__}{': ' + detail if detail else ''}).",
                           path=str(path)) from None


def load_pretrained(folder: Path, *, gguf_file: str | None = None) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    """The model and tokenizer of a checked local folder: offline, no remote code, safetensors (or GGUF) only.

    Callers run :func:`check_tree` (or :func:`verify_dir`) on the folder first.
    """
    from .extras import quiet_transformers

    with quiet_transformers():
        return _load_pretrained(folder, gguf_file)


def _load_pretrained(folder: Path, gguf_file: str | None) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False}
    if gguf_file is not None:
        options["gguf_file"] = gguf_file
    tokenizer = _guarded(folder, "the tokenizer (tokenizer.json, tokenizer_config.json)",
                         lambda: AutoTokenizer.from_pretrained(folder, **options))
    if gguf_file is not None:
        model = _guarded(folder, "the model (GGUF)", lambda: AutoModelForCausalLM.from_pretrained(folder, **options))
        return model, tokenizer
    _guarded(folder, "the model (config.json, *.safetensors)", lambda: _check_shapes(folder))
    model, info = _guarded(folder, "the model (config.json, *.safetensors)",
                           lambda: AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True,
                                                                        output_loading_info=True, **options))
    # transformers re-initialises weights it cannot place and goes on: a changed config.json would give a random model.
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        keys = sorted(str(k) for k in info.get(kind) or ())
        if keys:
            raise MTPFileError(f"the weights do not match config.json ({kind.replace('_', ' ')}: "
                               f"{', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}).", path=str(folder))
    return model, tokenizer


_LAYER_INDEX = re.compile(r"\.(?:layers|layer|h|blocks)\.(\d+)\.")


def _header_shapes(folder: Path) -> dict[str, list[int]]:
    """Tensor name -> shape, from the headers of the folder's safetensors files (already checked sound)."""
    shapes: dict[str, list[int]] = {}
    for path in sorted(folder.glob("*.safetensors")):
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = parse_json(handle.read(length), str(path))
        shapes.update({name: entry["shape"] for name, entry in header.items() if name != "__metadata__"})
    return shapes


def _check_shapes(folder: Path) -> None:
    """config.json against the weights' headers before transformers allocates anything.

    A config claiming 2,000 layers (or a hidden size of 10⁶) would otherwise be
    built in full, gigabytes, and refused only afterwards. The layer count is
    compared with the headers first; then the model is built on PyTorch's
    ``meta`` device (shapes, no memory) and every tensor's shape compared.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    shapes = _header_shapes(folder)
    config = AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    layers = {int(m.group(1)) for name in shapes for m in [_LAYER_INDEX.search(name)] if m}
    claimed = getattr(config, "num_hidden_layers", None)
    if layers and isinstance(claimed, int) and claimed > max(layers) + 1:  # fewer: transformers' own check says so
        raise MTPFileError(f"config.json and the weights do not match: the config claims {claimed} layers, the "
                           f"weights hold {max(layers) + 1}.", path=str(folder / "config.json"),
                           pointer="/num_hidden_layers")
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    for name, tensor in model.state_dict().items():
        if name in shapes and list(tensor.shape) != shapes[name]:
            raise MTPFileError(f"config.json and the weights do not match: the config gives {name[:80]} the shape "
                               f"{list(tensor.shape)}, the weights {shapes[name]}.", path=str(folder / "config.json"))


def check_base_dir(folder: Path) -> None:
    """The refusals of :func:`verify_dir` without a manifest: for a directory trained elsewhere, or a base model."""
    present = check_tree(folder)
    _check_configs(folder, present)


def load_trained(
    path: "str | os.PathLike[str]", device: str | None = None, template: "str | os.PathLike[str] | None" = None
) -> TrainedModel:
    """Load a directory written by :func:`model_train_protocol.train.train` (or ``mtp train``).

    Stable signature for inference code: ``load_trained(path, device=None) ->
    TrainedModel(model, tokenizer, template, manifest, model_file, path)``.
    Every file is checked against the manifest first (:func:`verify_dir`);
    weights load from safetensors only, offline, without remote code.
    ``device`` is ``"cpu"``, ``"cuda"`` or None (CUDA when available, else CPU).
    The model is in eval mode; it generates until ``<EOS>``.

    ``template`` is a template file for a directory trained elsewhere (no
    ``mtp_manifest.json``): it then needs no manifest, and gets every other
    check. Raises ``MTPFileError`` for a missing, incomplete, modified or
    unsafe directory.
    """
    from .extras import require_train_extra

    out_dir = Path(path)
    if template is not None:
        if (out_dir / MANIFEST).exists():
            raise MTPFileError("this directory was written by `mtp train` and carries its own template; leave out "
                               "--template.", path=str(out_dir))
        check_base_dir(out_dir)
        manifest: dict[str, Any] = {}
        model_file: dict[str, Any] = {}
        template_doc = _template_file(Path(template))
    else:
        if not (out_dir / MANIFEST).exists() and out_dir.is_dir():
            raise MTPFileError(f"{MANIFEST} is missing; is this a directory written by `mtp train`? For a model "
                               "trained elsewhere pass its template file (--template FILE).", path=str(out_dir))
        manifest = verify_dir(out_dir)
        template_doc = _checked_template(_read_json(out_dir / TEMPLATE_FILE, TEMPLATE_FILE), out_dir / TEMPLATE_FILE)
        model_file = _read_json(out_dir / MODEL_FILE, MODEL_FILE)
    runtime = read_runtime(out_dir, manifest) if manifest else _template_runtime(template_doc, out_dir)
    require_train_extra()
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = load_pretrained(out_dir)
    _guarded(out_dir, "the tokenizer (tokenizer.json, tokenizer_config.json)",
             lambda: _check_loaded(out_dir, model, tokenizer))
    model.to(device)
    model.eval()
    return TrainedModel(model=model, tokenizer=tokenizer, template=template_doc, manifest=manifest,
                        model_file=model_file, path=out_dir, runtime=runtime)


# --- the runtime spec ------------------------------------------------------------
def _listed(manifest: dict[str, Any]) -> set[str]:
    return {e.get("path") for e in manifest.get("files", ()) if isinstance(e, dict)}


def read_runtime(out_dir: Path, manifest: dict[str, Any]) -> RuntimeSpec:
    """The runtime spec of a verified directory; a directory written before it existed is refused with the one
    command that adds it."""
    if RUNTIME_FILE not in _listed(manifest):
        raise MTPFileError(f"written by an earlier version of mtp, without {RUNTIME_FILE}; add it with "
                           f"`mtp upgrade {out_dir}`.", path=str(out_dir))
    path = out_dir / RUNTIME_FILE
    return RuntimeSpec.from_json(_read_json(path, RUNTIME_FILE), str(path))


def _template_runtime(template: dict[str, Any], out_dir: Path) -> RuntimeSpec:
    """The runtime spec of a directory trained elsewhere: its template is all there is."""
    from .compiler import compile_runtime

    return compile_runtime(template, None, where=str(out_dir))


def stored_protocol(out_dir: Path) -> "Protocol":
    """The protocol of a verified directory's ``mtp_model.json``: what ``mtp upgrade`` compiles and ``mtp eval``
    compares its prompts with (inference never reads it). One that does not load is the directory's fault."""
    from .protocol import Protocol

    model_file = _read_json(out_dir / MODEL_FILE, MODEL_FILE)
    try:
        return Protocol.from_json(model_file)
    except MTPError as exc:
        raise MTPFileError(f"does not load as a protocol ({str(exc).splitlines()[0]}); write the directory again "
                           "with `mtp train`.", path=str(out_dir / MODEL_FILE)) from None


def upgrade_dir(path: "str | os.PathLike[str]") -> RuntimeSpec:
    """Add (or rewrite) ``runtime.json`` in a directory written by ``mtp train``, and list it in the manifest.

    The directory is verified first (a damaged one is refused); the spec is
    compiled from its model and template files and the manifest's refusal and
    intent sections, written atomically, and the manifest's checksums updated
    (written last, atomically). A ``runtime.json`` the manifest does not list
    (an upgrade cut short) is replaced.
    """
    from .compiler import compile_runtime, write_runtime

    out_dir = Path(path)
    manifest_path = out_dir / MANIFEST
    if not manifest_path.is_file():
        raise MTPFileError(f"{MANIFEST} is missing; `mtp upgrade` works on directories written by `mtp train`.",
                           path=str(out_dir))
    leftover = out_dir / RUNTIME_FILE
    if leftover.is_file() and not leftover.is_symlink() and RUNTIME_FILE not in _listed(_read_json(manifest_path,
                                                                                                     MANIFEST)):
        leftover.unlink()
    manifest = verify_dir(out_dir)
    template = _checked_template(_read_json(out_dir / TEMPLATE_FILE, TEMPLATE_FILE), out_dir / TEMPLATE_FILE)
    protocol = stored_protocol(out_dir)
    section = manifest.get("mtp") if isinstance(manifest.get("mtp"), dict) else {}
    spec = compile_runtime(template, protocol, section.get("refusal"), section.get("intent"), str(out_dir))
    write_runtime(out_dir, spec)
    digest = "sha256:" + sha256_file(out_dir / RUNTIME_FILE)
    files = [e for e in manifest["files"] if e.get("path") != RUNTIME_FILE]
    files.append({"path": RUNTIME_FILE, "checksum": digest})
    manifest["files"] = sorted(files, key=lambda e: e["path"])
    write_atomic(manifest_path, dumps(manifest))
    verify_dir(out_dir)
    return spec


def _template_file(path: Path) -> dict[str, Any]:
    """A template file given for a directory trained elsewhere: a readable JSON object with instructions."""
    from .formats.strict_json import read_json_file

    return _checked_template(read_json_file(path), path)


def _checked_template(document: Any, path: Path) -> dict[str, Any]:
    """A template document that passes its JSON Schema (a changed template would break prompt building)."""
    from .filecheck import check_document

    if not isinstance(document, dict) or not isinstance(document.get("instructions"), dict):
        raise MTPFileError("is not an MTP template file (no 'instructions' object); pass the {name}_template.json "
                           "the model was trained with.", path=str(path))
    check = check_document(document)
    if check.kind != "template" or check.problems:
        first = check.problems[0] if check.problems else None
        raise MTPFileError(f"is not a usable template file ({first.message if first else 'not a template'}).",
                           path=str(path), pointer=(first.pointer or "") if first else "")
    return document


def _check_loaded(out_dir: Path, model: Any, tokenizer: Any) -> None:
    """What transformers accepts but generation would trip on: the tokenizer must fit the weights."""
    what = "tokenizer.json / tokenizer_config.json"
    rows = model.get_input_embeddings().num_embeddings
    size = len(tokenizer)
    if size > rows:
        raise MTPFileError(f"the tokenizer has {size} tokens but the model's embeddings have {rows} rows: {what} "
                           "do not match the weights.", path=str(out_dir))
    limit = getattr(tokenizer, "model_max_length", None)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))):
        raise MTPFileError(f"model_max_length must be a number, found {type(limit).__name__}.",
                           path=str(out_dir / "tokenizer_config.json"), pointer="/model_max_length")
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None and (not isinstance(value, int) or not 0 <= value < rows):
            raise MTPFileError(f"the tokenizer's {name} ({value!r}) is not a token of the model.",
                               path=str(out_dir / "tokenizer_config.json"))
