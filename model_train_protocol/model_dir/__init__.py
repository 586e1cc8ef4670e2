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

One job per private module: ``_layout`` (file names, the walk over the
directory), ``_identity`` (checksums, the protocol's hash), ``_checks`` (the
refusals above, :func:`verify_dir`), ``_staged`` (writing the protocol files,
the manifest and the whole-or-nothing staged write), ``_loading``
(:func:`load_trained` and what it reads), ``_encoding`` (the one text encoding)
and ``_upgrade`` (``mtp upgrade``). Import from this package, never from them.
"""

from ..runtime import RUNTIME_FILE
from ._checks import check_base_dir, check_tree, verify_dir
from ._encoding import encode_text, native_panic, tokenizer_call
from ._identity import protocol_sha256, sha256_file
from ._layout import (CHECKPOINTS, HUB_FILES, LOSS_CURVE, MANIFEST, MANIFEST_FORMAT, MODEL_FILE, STAGING_PREFIX,
                      TEMPLATE_FILE)
from ._loading import TrainedModel, load_pretrained, load_trained, read_runtime, stored_protocol
from ._staged import TOKENIZER_CLASS, write_manifest, write_protocol_files, write_staged
from ._upgrade import upgrade_dir

__all__ = [
    # the layout
    "MANIFEST", "MODEL_FILE", "TEMPLATE_FILE", "RUNTIME_FILE", "LOSS_CURVE", "CHECKPOINTS", "MANIFEST_FORMAT",
    "HUB_FILES", "STAGING_PREFIX", "TOKENIZER_CLASS",
    # identity
    "sha256_file", "protocol_sha256",
    # writing
    "write_protocol_files", "write_manifest", "write_staged",
    # checking
    "check_tree", "check_base_dir", "verify_dir",
    # loading
    "TrainedModel", "load_pretrained", "load_trained", "read_runtime", "stored_protocol",
    # the text encoding
    "encode_text", "tokenizer_call", "native_panic",
    # mtp upgrade
    "upgrade_dir",
]
