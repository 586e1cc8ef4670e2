"""Loading a checked directory: the model and tokenizer (offline, no remote code, safetensors only), its
template, runtime spec and stored protocol.

Any error a tampered directory still provokes in transformers, tokenizers or
safetensors becomes an :class:`MTPFileError` naming the file.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import MTPError, MTPFileError
from ..jsonio import parse_json
from ..runtime import RUNTIME_FILE, RuntimeSpec
from ._checks import _read_json, check_base_dir, verify_dir
from ._encoding import native_panic
from ._layout import MANIFEST, MODEL_FILE, TEMPLATE_FILE

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from ..authoring import Protocol


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
    from ..extras import quiet_transformers

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
    from .._env import require_train_extra

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
    runtime = read_runtime(out_dir, manifest) if manifest else RuntimeSpec.from_template(template_doc)
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


def stored_protocol(out_dir: Path) -> "Protocol":
    """The protocol of a verified directory's ``mtp_model.json``: what ``mtp upgrade`` compiles and ``mtp eval``
    compares its prompts with (inference never reads it). One that does not load is the directory's fault."""
    from ..authoring import Protocol

    model_file = _read_json(out_dir / MODEL_FILE, MODEL_FILE)
    try:
        return Protocol.from_json(model_file)
    except MTPError as exc:
        raise MTPFileError(f"does not load as a protocol ({str(exc).splitlines()[0]}); write the directory again "
                           "with `mtp train`.", path=str(out_dir / MODEL_FILE)) from None


def _template_file(path: Path) -> dict[str, Any]:
    """A template file given for a directory trained elsewhere: a readable JSON object with instructions."""
    from ..jsonio import read_json_file

    return _checked_template(read_json_file(path), path)


def _checked_template(document: Any, path: Path) -> dict[str, Any]:
    """A template document that passes its JSON Schema (a changed template would break prompt building)."""
    from ..formats import check_document

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
