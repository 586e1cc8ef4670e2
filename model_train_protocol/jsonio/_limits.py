"""Input limits: every file the library reads is a regular file of bounded size, checked before reading.

A FIFO would block the reader forever and ``/dev/zero`` or ``/dev/urandom``
would be read until memory runs out, so anything but a regular file is
refused after ``open`` (non-blocking, so a FIFO cannot stall it) and before
the first byte is read. Sizes are capped; the caps are read from the
environment (by :mod:`model_train_protocol._env`) at each call, so a big job
can raise them without code:

=========================== =========================================== =========
variable                    what it caps                                default
=========================== =========================================== =========
``MTP_MAX_FILE_BYTES``      model, template, CSV and context files      4 GiB
``MTP_MAX_CONFIG_BYTES``    JSON files of a trained-model directory     256 MiB
=========================== =========================================== =========

Text that enters from a file or a flag is checked by :func:`..text.check_text`:
valid Unicode scalar values (no lone surrogates, which UTF-8 cannot encode)
and no NUL character.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .._env import byte_limit
from ..errors import MTPFileError

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_CONFIG_BYTES",
    "max_file_bytes",
    "max_config_bytes",
    "read_limited",
    "available_memory",
    "check_parse_memory",
]

DEFAULT_MAX_FILE_BYTES = 4 * 1024**3
DEFAULT_MAX_CONFIG_BYTES = 256 * 1024**2


def max_file_bytes() -> int:
    """The largest model, template or CSV file read (``MTP_MAX_FILE_BYTES``, default 4 GiB)."""
    return byte_limit("MTP_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def max_config_bytes() -> int:
    """The largest JSON file of a model directory read (``MTP_MAX_CONFIG_BYTES``, default 256 MiB)."""
    return byte_limit("MTP_MAX_CONFIG_BYTES", DEFAULT_MAX_CONFIG_BYTES)


#: Memory a JSON file costs while it is read and parsed, per byte of the file (measured: a 1 GB line peaks at 6.9 GB).
PARSE_MEMORY_FACTOR = 7


def available_memory() -> int | None:
    """Bytes this process can still allocate, as far as the system says: the least of the free memory
    (``MemAvailable``), the room under its cgroup's limit and under ``RLIMIT_AS``; None when none is known."""
    room: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            room += [int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as limit, \
                open("/sys/fs/cgroup/memory.current", encoding="ascii") as used:
            text = limit.read().strip()
            if text != "max":
                room.append(int(text) - int(used.read().strip()))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as handle:
                room.append(soft - int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE"))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return max(0, min(room)) if room else None


def check_parse_memory(size: int, source: str) -> None:
    """Refuse, with one clear error, a file that parsing would need more memory for than the process can get
    (it would otherwise die in an allocation abort, with no message)."""
    need = PARSE_MEMORY_FACTOR * size
    free = available_memory()
    if free is not None and need > free:
        raise MTPFileError(f"reading this {size / 1024**2:,.0f} MiB file needs about {need / 1024**2:,.0f} MiB of "
                           f"memory and only {free / 1024**2:,.0f} MiB are free; free memory or split the file.",
                           path=source)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_limited(path: "str | os.PathLike[str]", limit: int | None = None, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, refusing special files and files over ``limit`` bytes.

    ``limit`` defaults to :func:`max_file_bytes`. With ``follow_symlinks=False``
    a symbolic link is refused instead of followed. Every refusal is an
    :class:`MTPFileError` naming the file.
    """
    source = str(path)
    limit = max_file_bytes() if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if Path(path).is_symlink():
            raise MTPFileError("is a symbolic link; links are not followed here.", path=source)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise MTPFileError(f"cannot read the file: {exc.strerror or exc}", path=source) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise MTPFileError(f"is {kind}, not a regular file; pass a file saved on disk.", path=source)
        if info.st_size > limit:
            raise MTPFileError(
                f"is {info.st_size:,} bytes, over the limit of {limit:,}; raise MTP_MAX_FILE_BYTES (or "
                "MTP_MAX_CONFIG_BYTES for model directories) if the file is really meant to be this large.",
                path=source,
            )
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        if remaining <= 0:
            raise MTPFileError(f"grew past the limit of {limit:,} bytes while being read.", path=source)
        return b"".join(chunks)
    except OSError as exc:
        raise MTPFileError(f"cannot read the file: {exc.strerror or exc}", path=source) from None
    finally:
        os.close(fd)
