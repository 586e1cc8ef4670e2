"""Byte-stable JSON text, written fast, and atomic file writes.

MTP files are ``json.dumps(doc, indent=4, ensure_ascii=False)``; this package
is where the package gets that text and writes it. One job per private module:

- ``_encoders``: :func:`dumps` and :func:`dump`, the very same text as the
  standard library about six times faster (flat containers through the C
  encoder, generated encoders for the items of long lists), and
  :class:`LazyList`, an array made on demand;
- ``_atomic``: :func:`write_atomic` and :func:`write_json_atomic` (a temporary
  file and a rename; large files streamed in chunks), the temporary files
  themselves and the permissions of new files;
- ``_process``: :func:`process_alive` (whose temporary file or staging folder is
  stale) and :func:`paused_gc` (parsing millions of acyclic objects);
- ``_strict``: strict JSON reading (duplicate keys, NaN, lone surrogates refused, with line and column);
- ``_limits``: the size limits of what is read (files, config files, strings).

Import from here, never from them.
"""

from ._atomic import TEMP_SUFFIX, clean_stale_temps, temp_file, usual_file_mode, write_atomic, write_json_atomic
from ._encoders import LazyList, dump, dumps
from ._process import paused_gc, process_alive
from ._strict import decode, parse_json, parse_text, read_json_file
from ._limits import max_config_bytes, read_limited

__all__ = ["dumps", "dump", "LazyList", "paused_gc", "write_atomic", "write_json_atomic", "temp_file",
           "usual_file_mode", "clean_stale_temps", "process_alive", "TEMP_SUFFIX", "decode", "parse_json", "parse_text",
           "read_json_file", "max_config_bytes", "read_limited"]
