"""``mtp upgrade``: add the runtime spec to a directory written before it existed."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MTPFileError
from ..jsonio import dumps, write_atomic
from ..runtime import RUNTIME_FILE, RuntimeSpec
from ._checks import _read_json, verify_dir
from ._identity import sha256_file
from ._layout import MANIFEST, TEMPLATE_FILE
from ._loading import _checked_template, _listed, stored_protocol


def upgrade_dir(path: "str | os.PathLike[str]") -> RuntimeSpec:
    """Add (or rewrite) ``runtime.json`` in a directory written by ``mtp train``, and list it in the manifest.

    The directory is verified first (a damaged one is refused); the spec is
    compiled from its model and template files and the manifest's refusal and
    intent sections, written atomically, and the manifest's checksums updated
    (written last, atomically). A ``runtime.json`` the manifest does not list
    (an upgrade cut short) is replaced.
    """
    from ..rules import compile_runtime, write_runtime

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
