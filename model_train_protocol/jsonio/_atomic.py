"""Atomic file writes: a temporary file beside the target, then a rename; a crash leaves the old file.

Temporary files carry their writer's process id, so a later save removes the
ones a killed save left and keeps those a running writer still fills.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any, Callable

from ..errors import MTPValueError
from ._encoders import dump
from ._process import process_alive

#: Temporary files are named ``.{target}.{pid}.{random}`` + this suffix, so a later save can recognise its own.
TEMP_SUFFIX = ".mtp-tmp"


def temp_file(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``: (fd, name), created with O_EXCL (never through a link).

    It gets the permissions a plain ``open`` would give (0666 less the
    umask, applied by the kernel: the process umask is never changed, which
    would race with other threads creating files). The name holds the
    writer's process id, so :func:`clean_stale_temps` can tell a temp file
    left by a killed save from one a running writer still fills. Stale ones of
    the same target are removed first.
    """
    clean_stale_temps(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            return os.open(name, flags, 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def usual_file_mode(directory: Path) -> int:
    """The permissions a plain ``open`` gives a new file in ``directory``, found without touching the umask."""
    fd, name = temp_file(directory / ".mode-probe")
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
        os.unlink(name)


def clean_stale_temps(path: Path) -> None:
    """Remove temp files of ``path`` left by saves that were killed (their process is gone).

    Only regular files we own whose name has our exact pattern are touched;
    links and anything else are left alone.
    """
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        pid_text = name[len(prefix):-len(TEMP_SUFFIX)].split(".", 1)[0]
        if not pid_text.isdigit() or process_alive(int(pid_text)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and info.st_uid == getattr(os, "getuid", lambda: info.st_uid)():
                os.unlink(entry.path)
        except OSError:
            pass


def _keep_mode(fd: int, path: Path) -> None:
    """Give the new file the permissions of the regular file it replaces (a ``chmod 600`` model stays private)."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(info.st_mode) and hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(info.st_mode))


def _write_temp_then_rename(path: Path, fill: Callable[[Callable[[str], Any]], None]) -> None:
    """Create ``path`` through a temporary file: ``fill`` gets a function that writes text as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path)
    try:
        _keep_mode(fd, path)
        with os.fdopen(fd, "wb") as handle:
            fill(lambda text: handle.write(text.encode("utf-8")))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(error, UnicodeEncodeError):  # a user string with an unpaired surrogate: a user error
            bad = error.object[error.start : error.end]
            around = error.object[max(0, error.start - 40) : error.end + 40]
            raise MTPValueError(
                f"Cannot write {path.name}: the text {around!r} holds {bad!r}, an unpaired surrogate that UTF-8 "
                "cannot encode; remove it from the string that contains it."
            ) from None
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A crash or an error mid-write leaves the previous file untouched; readers
    never see a half-written file.
    """
    _write_temp_then_rename(path, lambda write: write(text))


def write_json_atomic(path: Path, document: Any) -> None:
    """Write :func:`dumps` of ``document`` to ``path`` atomically, streamed in chunks."""
    _write_temp_then_rename(path, lambda write: dump(document, write))
