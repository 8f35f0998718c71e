"""The sync/async bridge: context propagation, cancellation, early close, no self-deadlock."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import threading
from collections.abc import AsyncIterator

import pytest

from llama_workbench.core.bridge import (
    AsyncStream,
    SyncStream,
    run_async,
    run_sync,
    shared_loop,
)
from llama_workbench.core.errors import LlamaWorkbenchError

principal: contextvars.ContextVar[str] = contextvars.ContextVar("principal", default="nobody")


async def whoami() -> str:
    await asyncio.sleep(0)
    return principal.get()


def test_context_variables_cross_the_hop() -> None:
    token = principal.set("alice")
    try:
        assert run_sync(whoami(), shared_loop()) == "alice"
    finally:
        principal.reset(token)
    assert run_sync(whoami(), shared_loop()) == "nobody"


def test_sync_call_from_the_stacks_own_loop_is_refused() -> None:
    async def nested() -> None:
        run_sync(whoami(), shared_loop())

    with pytest.raises(LlamaWorkbenchError, match="would deadlock"):
        run_sync(nested(), shared_loop())


def test_ctrl_c_while_waiting_cancels_the_work() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        # Ctrl-C arrives while the calling thread waits for this work (give it time to start
        # waiting: a signal that lands before run_sync has its future can't cancel anything).
        await asyncio.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(KeyboardInterrupt):
        run_sync(slow(), shared_loop())
    assert cancelled.wait(5)


def test_sync_stream_close_stops_the_producer() -> None:
    produced, closed = [], threading.Event()

    async def numbers() -> AsyncIterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    stream = SyncStream(numbers(), shared_loop())
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()  # stopped before close() returned
    count = len(produced)
    assert count < 1000 and list(stream) == []


def test_sync_stream_propagates_errors() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ValueError("boom")

    stream = SyncStream(failing(), shared_loop())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="boom"):
        next(stream)


def test_async_face_from_another_loop() -> None:
    async def letters() -> AsyncIterator[str]:
        for c in "abc":
            yield c

    async def main() -> tuple[str, list[str]]:
        token = principal.set("bob")
        name = await run_async(whoami(), shared_loop())
        principal.reset(token)
        stream = AsyncStream(letters(), shared_loop())
        return name, [c async for c in stream]

    assert asyncio.run(main()) == ("bob", ["a", "b", "c"])
