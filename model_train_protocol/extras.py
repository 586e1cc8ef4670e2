"""How many CPU threads PyTorch uses (the one thread policy of every command and of ``Model.load``), and
transformers' logging quieted for a block and restored after it.

The ``[train]`` extra check and the cache folder are :mod:`model_train_protocol._env`'s, with every other
setting taken from the environment.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from .errors import MTPValueError

__all__ = ["default_threads", "use_threads", "quiet_transformers"]


def default_threads() -> int:
    """CPU threads when none are asked for: the cores this process may use that other work leaves free, at least
    one.

    PyTorch's own default takes every core, and its threads spin-wait for each other: on a busy 2-core machine a
    SmolLM2-sized answer took a median 10.3 s with two threads against 3.1 s with one (docs/inference.md,
    "Threads"). On an idle machine this is every core, as PyTorch would take. Other work is the one-minute load
    average, or where the system shows it (Linux) and it is lower, the cores busy over the next twentieth of a
    second: the average lags a minute behind, so right after a finished job (a `pip install` before `mtp demo`)
    it would still count that job.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        busy = 0.0
    if busy >= 0.5:
        now = _busy_now(usable)
        busy = busy if now is None else min(busy, now)
    return max(1, min(usable, round(usable - busy)))


#: Where Linux counts each CPU's time spent busy and idle since boot.
_PROC_STAT = "/proc/stat"


def _busy_now(usable: int, window: float = 0.05) -> float | None:
    """Cores busy over the next ``window`` seconds (this process waits meanwhile, so counts for none), scaled to
    the ``usable`` cores; None where the system does not show it."""
    import time

    def times() -> tuple[int, int] | None:
        try:
            with open(_PROC_STAT, encoding="ascii") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        return sum(fields[:8]), fields[3] + fields[4]  # all time (no guest: counted in user), idle + iowait

    first = times()
    if first is None:
        return None
    time.sleep(window)
    second = times()
    if second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return usable * (total - idle) / total


def use_threads(threads: int | None) -> int:
    """Set PyTorch's CPU threads for this process: ``threads``, or :func:`default_threads` when None; return it."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise MTPValueError(f"threads must be a whole number of at least 1 (or None for the default), got {threads!r}.")
    import torch

    chosen = default_threads() if threads is None else threads
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    return chosen


@contextmanager
def quiet_transformers(errors_only: bool = False) -> Iterator[None]:
    """transformers without its progress bars (and, with ``errors_only``, below error level) for the block, then
    as the caller had it: a library call must not change the process's logging for good."""
    from transformers.utils import logging as hf_logging

    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    if errors_only:
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
