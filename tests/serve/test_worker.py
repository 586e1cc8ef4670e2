"""One worker per model: calls run one at a time in arrival order; past the queue limit a call is refused."""

from __future__ import annotations

import asyncio
import threading

import pytest

from model_train_protocol.errors import MTPError
from model_train_protocol.serve import ModelWorker, QueueFull


def test_calls_run_one_at_a_time_in_order_on_one_thread():
    worker = ModelWorker("m", limit=50)
    seen, threads, running = [], set(), []
    lock = threading.Lock()

    def call(i):
        with lock:
            running.append(i)
            assert len(running) == 1, "two calls ran at once"
        seen.append(i)
        threads.add(threading.get_ident())
        with lock:
            running.remove(i)
        return i * i

    futures = [worker.submit(call, i) for i in range(30)]
    assert [f.result(timeout=60) for f in futures] == [i * i for i in range(30)]
    assert seen == list(range(30)) and len(threads) == 1 and threading.get_ident() not in threads
    assert worker.pending == 0
    worker.close()


def test_the_call_past_the_limit_is_refused_and_its_slot_comes_back():
    worker = ModelWorker("busy", limit=2)
    gate = threading.Event()
    first, second = worker.submit(gate.wait), worker.submit(gate.wait)
    assert worker.pending == 2
    with pytest.raises(QueueFull, match="queue limit 2") as caught:
        worker.submit(gate.wait)
    assert isinstance(caught.value, MTPError)
    gate.set()
    assert first.result(timeout=60) and second.result(timeout=60)
    assert worker.submit(lambda: "again").result(timeout=60) == "again"
    assert worker.pending == 0
    worker.close()


def test_a_cancelled_waiting_call_frees_its_slot():
    worker = ModelWorker("m", limit=2)
    gate = threading.Event()
    running = worker.submit(gate.wait)
    waiting = worker.submit(lambda: "never")
    assert waiting.cancel() and worker.pending == 1
    gate.set()
    running.result(timeout=60)
    assert worker.pending == 0
    worker.close()


def test_run_awaits_the_result_and_raises_the_calls_error():
    worker = ModelWorker("m", limit=1)

    async def main():
        assert await worker.run(sum, [1, 2, 3]) == 6
        with pytest.raises(ZeroDivisionError):
            await worker.run(lambda: 1 / 0)

    asyncio.run(main())
    assert worker.pending == 0
    worker.close()


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "4"])
def test_a_queue_limit_is_a_positive_integer(limit):
    with pytest.raises(MTPError, match="queue limit must be an integer"):
        ModelWorker("m", limit=limit)
