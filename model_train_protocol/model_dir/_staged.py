"""Writing a model directory: its protocol files, its manifest (last), and the staged write that is whole or
nothing."""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import MTPFileError
from ..jsonio import dumps, process_alive, usual_file_mode, write_atomic
from ._checks import verify_dir
from ._identity import protocol_sha256, sha256_file
from ._layout import MANIFEST, MANIFEST_FORMAT, MODEL_FILE, STAGING_PREFIX, TEMPLATE_FILE, _listed_files

if TYPE_CHECKING:
    from ..authoring import Protocol


#: The tokenizer class written into ``tokenizer_config.json``: read by transformers 4.x and 5.x alike.
TOKENIZER_CLASS = "PreTrainedTokenizerFast"


def write_protocol_files(out_dir: Path, protocol: "Protocol", refusal: dict[str, Any] | None = None,
                         intent: dict[str, Any] | None = None) -> None:
    """``mtp_model.json`` and ``mtp_template.json`` through the library's own writers, and ``runtime.json``
    compiled from them with training's ``refusal`` and ``intent`` sections (what the manifest's ``mtp`` holds).

    The spec is compiled from the protocol as the model file stores it (read back), exactly as
    :func:`upgrade_dir` compiles it: both give the same bytes.
    """
    from ..rules import compile_runtime, write_runtime
    from ..authoring import Protocol

    template = protocol.template_json()
    stored = protocol.to_json()
    write_atomic(out_dir / MODEL_FILE, dumps(stored))
    write_atomic(out_dir / TEMPLATE_FILE, dumps(template))
    spec = compile_runtime(template, Protocol.from_json(stored), refusal, intent, str(out_dir))
    write_runtime(out_dir, spec)


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
