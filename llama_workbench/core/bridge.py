"""The one sync/async bridge: run the stack's coroutines from any thread or any event loop."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from llama_workbench.core.errors import LlamaWorkbenchError

T = TypeVar("T")
_WAKE_S = 0.05


class LoopThread:
    """An event loop running forever in a daemon thread; stacks built from sync code live on it."""

    def __init__(self, name: str = "llama-workbench-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


_shared: LoopThread | None = None
_shared_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process-wide background loop, started on first use."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = LoopThread()
                atexit.register(_shared.stop)
    return _shared.loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if one is."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def submit(
    coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop
) -> concurrent.futures.Future[T]:
    """Schedule `coro` on `loop` from another thread.

    The task runs in a copy of the caller's context (call_soon_threadsafe captures it), so
    context variables such as a request's principal or the current trace cross the hop.
    """
    return asyncio.run_coroutine_threadsafe(coro, loop)


def run_sync(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> T:
    """Run `coro` on `loop` and wait for it from this (non-loop) thread.

    Works inside Jupyter, whose own loop is running in the calling thread: the work happens on
    `loop`, in another thread, so nothing nests. Ctrl-C cancels the work instead of orphaning it.
    """
    if running_loop() is loop:
        coro.close()
        raise LlamaWorkbenchError(
            "A synchronous stack call was made from inside the stack's own event loop, which "
            "would deadlock. Use the async face instead: `await stack.aio.<api>.<method>(...)`."
        )
    future = submit(coro, loop)
    try:
        return _wait(future)
    except BaseException:
        # KeyboardInterrupt or an error in this thread: stop the work on the loop as well.
        future.cancel()
        raise


def _wait(future: concurrent.futures.Future[T]) -> T:
    # Wait in short slices: a signal (Ctrl-C, a kernel interrupt) delivered to another thread
    # is only acted on when this thread wakes up.
    while True:
        try:
            return future.result(timeout=_WAKE_S)
        except concurrent.futures.TimeoutError:
            continue


async def run_async(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> T:
    """Await `coro` on `loop` from whatever loop the caller runs (the same one: no hop)."""
    if running_loop() is loop:
        return await coro
    future = submit(coro, loop)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        future.cancel()
        raise


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class SyncStream(Iterator[T]):
    """A sync iterator over an async iterator that lives on another loop; `close()` stops it.

    A pump task on the loop pushes items into a queue, so each item costs one wake-up of the
    reading thread instead of a round trip per item.
    """

    _END = object()

    def __init__(self, iterator: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> None:
        self._iterator = iterator
        self._loop = loop
        self._queue: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._done = False
        self._stopped = threading.Event()
        self._pump_future = submit(self._pump(), loop)

    async def _pump(self) -> None:
        try:
            async for item in self._iterator:
                self._queue.put((True, item))
            self._queue.put((True, self._END))
        except BaseException as exc:
            self._queue.put((False, exc))
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
        finally:
            try:
                await _aclose(self._iterator)
            finally:
                self._stopped.set()

    def __iter__(self) -> SyncStream[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            ok, item = self._get()
        except BaseException:
            self.close()
            raise
        if item is self._END:
            self._done = True
            raise StopIteration
        if not ok:
            self._done = True
            raise item
        value: T = item
        return value

    def _get(self) -> tuple[bool, Any]:
        while True:
            try:
                return self._queue.get(timeout=_WAKE_S)
            except queue.Empty:
                continue

    def close(self) -> None:
        """Stop the stream early; the producer (e.g. generation) is stopped before this returns."""
        if self._done:
            return
        self._done = True
        self._pump_future.cancel()
        if self._loop.is_running():
            self._stopped.wait(timeout=30)

    def __enter__(self) -> SyncStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._done:
            self._pump_future.cancel()


class AsyncStream(AsyncIterator[T]):
    """An async iterator over one that lives on another loop."""

    def __init__(self, iterator: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> None:
        self._iterator = iterator
        self._loop = loop

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def __anext__(self) -> T:
        return await run_async(_anext(self._iterator), self._loop)

    async def aclose(self) -> None:
        await run_async(_aclose(self._iterator), self._loop)


def is_async_iterator(value: object) -> bool:
    return hasattr(value, "__anext__") and hasattr(value, "__aiter__")
