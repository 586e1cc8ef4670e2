"""One worker per served model: its calls run one at a time on a thread of their own, and only so many wait.

A PyTorch model is not safe to call from several threads at once, and a CPU
runs one model call at full speed anyway; so each model gets a single-thread
executor (calls run in arrival order) and a bound on the calls it holds,
running and waiting together. Past the bound a call is refused at once with
:class:`QueueFull` (the server answers 503) instead of piling up memory and
latency. Neither part imports the web framework.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from ..errors import MTPError, MTPValueError

__all__ = ["ModelWorker", "QueueFull", "DEFAULT_QUEUE_LIMIT"]

#: Calls a model holds (running and waiting) before the next is refused.
DEFAULT_QUEUE_LIMIT = 16

T = TypeVar("T")


class QueueFull(MTPError):
    """A model already holds as many calls as its queue limit allows; retry later."""


class ModelWorker:
    """Runs one model's calls in order on one thread; holds at most ``limit`` calls (running and waiting)."""

    def __init__(self, name: str, limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise MTPValueError(f"the queue limit must be an integer of at least 1, got {limit!r}.")
        self.name = name
        self.limit = limit
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mtp-serve-{name[:20]}")
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Calls submitted and not finished (the one running included)."""
        return self._pending

    def submit(self, fn: Callable[..., T], *args: Any) -> "Future[T]":
        """Queue ``fn(*args)``; :class:`QueueFull` when the model already holds ``limit`` calls."""
        with self._lock:
            if self._pending >= self.limit:
                raise QueueFull(f"model {self.name!r} is busy: {self._pending} requests are running or waiting "
                                f"(queue limit {self.limit}); retry shortly.")
            self._pending += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)  # also called when a waiting call is cancelled
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the model's thread, awaited; a cancelled request drops its call if it has not started."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def _done(self, _future: "Future[Any] | None") -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Stop taking calls; calls still waiting are cancelled, the running one finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)
